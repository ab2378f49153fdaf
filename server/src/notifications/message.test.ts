import { describe, expect, it } from 'vitest';
import type { Job, JobEvent } from '@vmo/protocol';
import { retryDelay } from './dispatcher.js';
import { duration, lastLines, plainText, whereItRan, type JobEnd } from './message.js';
import { signature, slackText, webhookBody } from './senders.js';

const ev = (chunk: string, seq = 1): JobEvent => ({ seq, stream: 'stdout', chunk, ts: 0 });

const JOB: Job = {
  id: 'j1',
  type: 'stream',
  status: 'failed',
  project: 'shop',
  host: 'web1',
  environment: 'prod',
  vm: 'prod/app9',
  target: 'deploy',
  args: {},
  preset: null,
  command: 'make deploy @ prod/app9',
  exitCode: 2,
  signal: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:02:03.000Z',
  requestedBy: { id: 'u1', username: 'alice' },
  parentId: null,
  lastSeq: 3,
  outputBytes: 10,
  truncated: false,
  protection: null,
  trigger: { kind: 'schedule', id: 's1', name: 'nightly' },
  can: { cancel: false, rerun: true, readOutput: true, input: false },
};
const END: JobEnd = { id: 'd1', event: 'failed', job: JOB, lines: ['a <b> & c'], url: null };

describe('what a notification says', () => {
  it('takes the last lines a user sees: a line split across events is one, \\r and escapes resolved', () => {
    const events = [ev('one\ntw'), ev('o\n\x1b[1;31mthree\x1b[0m\r\n'), ev('10%\r50%\r100%\nlast')];
    expect(lastLines(events)).toEqual(['one', 'two', 'three', '100%', 'last']);
    expect(lastLines(events, 2)).toEqual(['100%', 'last']);
    expect(lastLines([])).toEqual([]);
    const long = lastLines([ev('x'.repeat(10_000) + '\n')]);
    expect(long[0]).toHaveLength(501);
    expect(lastLines([ev('bad \uFFFD byte\n')])).toEqual(['bad \uFFFD byte']);
  });

  it('names where, how long, who and why it ran', () => {
    expect(whereItRan(JOB)).toBe('prod/app9');
    expect(whereItRan({ ...JOB, vm: null, host: null })).toBe('shop on this server');
    expect(whereItRan({ ...JOB, type: 'group', vm: null })).toBe('fan-out over prod');
    expect(duration(JOB)).toBe('2 min 3 s');
    expect(duration({ ...JOB, finishedAt: '2026-01-01T00:00:00.250Z' })).toBe('250 ms');
    expect(duration({ ...JOB, finishedAt: '2026-01-01T03:04:00.000Z' })).toBe('3 h 4 min');
    expect(duration({ ...JOB, startedAt: null })).toBeNull();
    const text = plainText({ ...END, url: 'https://vmo.test/jobs/j1' });
    expect(text).toMatch(/^make deploy @ prod\/app9 failed\n/);
    expect(text).toContain('Who        schedule nightly (as alice)');
    expect(text).toContain('Exit code  2');
    expect(text).toContain('https://vmo.test/jobs/j1');
    expect(text).toContain('Last 1 lines:\na <b> & c\n');
  });

  it('escapes what Slack would read as markup, and signs a webhook body with its timestamp', () => {
    const text = slackText(END);
    expect(text).toContain('```\na &lt;b&gt; &amp; c\n```');
    expect(text.startsWith('❌ *make deploy @ prod/app9 failed*')).toBe(true);
    expect(slackText({ ...END, event: 'recovered' }).startsWith('✅')).toBe(true);
    const body = webhookBody(END);
    expect(JSON.parse(body)).toMatchObject({
      id: 'd1',
      event: 'failed',
      job: { requestedBy: 'alice' },
    });
    // HMAC-SHA256, keyed by the secret, of "<timestamp>.<body>", in hex.
    expect(signature('key', 1, 'body')).toBe(
      'sha256=91b5374b153842ad05b2c4eab9349b8321b14703165bd3fb8b034dfb8be98ae5',
    );
    expect(signature('key', 1, 'body')).not.toBe(signature('key', 2, 'body'));
  });

  it('waits twice as long before each retry, capped, with jitter', () => {
    const no = () => 0.5;
    expect([1, 2, 3, 4, 5].map((n) => retryDelay(n, 1000, 5000, no))).toEqual([
      1000, 2000, 4000, 5000, 5000,
    ]);
    expect(retryDelay(1, 1000, 5000, () => 0)).toBe(750);
    expect(retryDelay(1, 1000, 5000, () => 1)).toBe(1250);
  });
});
