// What a notification says about a job's end, whatever carries it: the command, who, where, how
// long, the exit code, the last lines of output as a user sees them, and a link to the job.
import { stripVTControlCharacters } from 'node:util';
import type { Job, JobEvent, Outcome } from '@vmo/protocol';

export const LAST_LINES = 20;
/** A line in a message is cut here: a 10 MB line must not make a 10 MB e-mail. */
const MAX_LINE = 500;

export interface JobEnd {
  /** The delivery's id: the idempotency key. */
  id: string;
  event: Outcome;
  /** The job as the rule's owner sees it (its command hidden if theirs to hide). */
  job: Job;
  /** Its last lines (none when the owner may not read its output). */
  lines: string[];
  /** Its page, when security.publicUrl is set. */
  url: string | null;
}

/**
 * The last `n` lines of the text a user sees, from the job's last events: escape codes gone, a
 * line overwritten with `\r` as it ended up, a trailing newline not making an empty line.
 */
export function lastLines(events: readonly JobEvent[], n = LAST_LINES): string[] {
  const text = events.map((e) => e.chunk).join('');
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-n).map((line) => {
    const shown = stripVTControlCharacters(line).replace(/\r+$/, '');
    const last = shown.slice(shown.lastIndexOf('\r') + 1);
    return last.length > MAX_LINE ? last.slice(0, MAX_LINE) + '…' : last;
  });
}

const WORDS: Record<Outcome, string> = {
  failed: 'failed',
  succeeded: 'succeeded',
  canceled: 'was canceled',
  interrupted: 'was interrupted',
  recovered: 'recovered',
};

/** Where it ran, in words: the VM, the host, or this server's project. */
export function whereItRan(job: Job): string {
  if (job.type === 'group') return `fan-out over ${job.environment ?? job.host ?? 'hosts'}`;
  if (job.vm) return job.vm;
  if (job.host) return job.host;
  return job.project ? `${job.project} on this server` : 'this server';
}

export function duration(job: Job): string | null {
  if (!job.startedAt || !job.finishedAt) return null;
  const ms = Date.parse(job.finishedAt) - Date.parse(job.startedAt);
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** "make deploy @ prod/app9 failed". */
export function headline(end: JobEnd): string {
  return `${end.job.command} ${WORDS[end.event]}`;
}

/** The facts, label and value, in the order every channel shows them. */
export function facts(end: JobEnd): [string, string][] {
  const { job } = end;
  const out: [string, string][] = [
    ['Command', job.command],
    ['Where', whereItRan(job)],
    ['Who', startedBy(job)],
  ];
  const took = duration(job);
  if (took) out.push(['Duration', took]);
  if (job.exitCode !== null) out.push(['Exit code', String(job.exitCode)]);
  if (job.signal) out.push(['Signal', job.signal]);
  out.push(['Job', job.id]);
  return out;
}

function startedBy(job: Job): string {
  const who = job.requestedBy?.username ?? 'nobody known';
  const by = job.trigger.name ?? job.trigger.id;
  if (job.trigger.kind === 'schedule') return `schedule ${by} (as ${who})`;
  if (job.trigger.kind === 'trigger') return `trigger ${by} (as ${who})`;
  return who;
}

/** The whole message as plain text (e-mail, and the fallback of the others). */
export function plainText(end: JobEnd): string {
  const width = Math.max(...facts(end).map(([label]) => label.length));
  const parts = [headline(end), '', ...facts(end).map(([k, v]) => `${k.padEnd(width)}  ${v}`)];
  if (end.url) parts.push('', end.url);
  if (end.lines.length > 0) parts.push('', `Last ${end.lines.length} lines:`, ...end.lines);
  return parts.join('\n') + '\n';
}
