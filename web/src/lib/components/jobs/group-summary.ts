// A fan-out's children in a few words: how many ended how, which failed and how, and the last
// error line a failed child printed (read from the end of its stored output).
import type { Job, JobEvent } from '@vmo/protocol';
import { FINAL_STATUSES } from '@vmo/protocol';

/** Where a child ran, as the page names it: its VM, else its host. */
export const childName = (child: Pick<Job, 'vm' | 'host' | 'command'>): string =>
  child.vm ?? child.host ?? child.command;

/** How a child ended, in a word or two: `exit 2`, `SIGKILL`; null while it runs or when unknown. */
export function howItEnded(child: Pick<Job, 'exitCode' | 'signal'>): string | null {
  if (child.signal) return child.signal;
  return child.exitCode !== null ? `exit ${child.exitCode}` : null;
}

const failing = (child: Job) =>
  child.status === 'failed' || child.status === 'interrupted' || child.status === 'canceled';

export interface GroupSummary {
  total: number;
  ended: number;
  failed: Job[];
  /** "2 of 12 failed: web3 exit 2, web5 SIGKILL", "all 3 succeeded", "1 of 3 running…". */
  text: string;
}

export function groupSummary(children: readonly Job[]): GroupSummary {
  const total = children.length;
  const ended = children.filter((c) => FINAL_STATUSES.includes(c.status)).length;
  const failed = children.filter(failing);
  const named = failed
    .slice(0, 3)
    .map((c) => [childName(c), howItEnded(c) ?? c.status].join(' '))
    .join(', ');
  const more = failed.length > 3 ? `, ${failed.length - 3} more` : '';
  let text: string;
  if (total === 0) text = 'no hosts yet';
  else if (ended < total) {
    const waiting = children.filter((c) => c.status === 'queued').length;
    text = `${total - ended - waiting} of ${total} running${waiting ? `, ${waiting} waiting` : ''}`;
    if (failed.length) text += `; ${failed.length} failed so far: ${named}${more}`;
  } else if (failed.length === 0) text = total === 1 ? 'it succeeded' : `all ${total} succeeded`;
  else text = `${failed.length} of ${total} failed: ${named}${more}`;
  return { total, ended, failed, text };
}

// eslint-disable-next-line no-control-regex -- ANSI escape sequences are what is removed
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/**
 * The last line that says something, as a reader of the log would take it: stderr's last
 * non-blank line if the job wrote any, else the output's; without colours and `\r` overwrites.
 */
export function lastErrorLine(
  events: readonly Pick<JobEvent, 'stream' | 'chunk'>[],
): string | null {
  const lastOf = (streams: string[]) => {
    const text = events
      .filter((e) => streams.includes(e.stream))
      .map((e) => e.chunk)
      .join('');
    const lines = text
      .split('\n')
      .map((l) => (l.replace(/\r$/, '').split('\r').at(-1) ?? '').replace(ANSI, '').trim())
      .filter(Boolean);
    return lines.at(-1) ?? null;
  };
  return lastOf(['stderr']) ?? lastOf(['stdout', 'pty']);
}
