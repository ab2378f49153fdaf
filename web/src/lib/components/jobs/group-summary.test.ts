import type { Job } from '@vmo/protocol';
import { describe, expect, it } from 'vitest';
import { job } from '$lib/testing/job.js';
import { groupSummary, howItEnded, lastErrorLine } from './group-summary.js';

const child = (
  vm: string,
  status: Job['status'],
  exitCode: number | null = null,
  signal: string | null = null,
) => job({ id: vm, vm, host: 'web1', status, exitCode, signal });

describe(groupSummary.name, () => {
  it('names the failed hosts and how each ended, once all have', () => {
    const s = groupSummary([
      child('prod/a', 'success', 0),
      child('prod/b', 'failed', 2),
      child('prod/c', 'failed', null, 'SIGKILL'),
    ]);
    expect(s.text).toBe('2 of 3 failed: prod/b exit 2, prod/c SIGKILL');
    expect(s.failed.map((c) => c.vm)).toEqual(['prod/b', 'prod/c']);
  });

  it('says what is still going, and what failed so far', () => {
    expect(
      groupSummary([child('a', 'running'), child('b', 'queued'), child('c', 'failed', 1)]).text,
    ).toBe('1 of 3 running, 1 waiting; 1 failed so far: c exit 1');
    expect(groupSummary([child('a', 'success', 0), child('b', 'success', 0)]).text).toBe(
      'all 2 succeeded',
    );
    expect(groupSummary([]).text).toBe('no hosts yet');
  });

  it('names three failures and counts the rest', () => {
    const many = ['a', 'b', 'c', 'd', 'e'].map((n) => child(n, 'failed', 1));
    expect(groupSummary(many).text).toBe('5 of 5 failed: a exit 1, b exit 1, c exit 1, 2 more');
  });

  it('tells how a child ended', () => {
    expect(howItEnded({ exitCode: 0, signal: null })).toBe('exit 0');
    expect(howItEnded({ exitCode: null, signal: 'SIGTERM' })).toBe('SIGTERM');
    expect(howItEnded({ exitCode: null, signal: null })).toBeNull();
  });
});

describe(lastErrorLine.name, () => {
  it("takes stderr's last line that says something, across events, without colours or overwrites", () => {
    expect(
      lastErrorLine([
        { stream: 'stdout', chunk: 'building\n' },
        { stream: 'stderr', chunk: '\x1b[31merror: cannot rea' },
        { stream: 'stdout', chunk: 'more output\n' },
        { stream: 'stderr', chunk: 'ch the registry\x1b[0m\n  \n' },
      ]),
    ).toBe('error: cannot reach the registry');
    expect(lastErrorLine([{ stream: 'pty', chunk: '10%\r50%\r100% done\r\n' }])).toBe('100% done');
    expect(lastErrorLine([])).toBeNull();
  });
});
