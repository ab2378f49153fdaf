import type { Waiting } from '@vmo/protocol';
import { describe, expect, it, vi } from 'vitest';
import type { JobRow } from '../db/jobs.repository.js';
import type { Logger } from '../logger.js';
import { JobQueue, type Active } from './job.queue.js';
import type { Launch } from './job.requests.js';

const row = (id: string) => ({ id, command: `make ${id}` }) as JobRow;
const batch = { runner: 'local' } as Launch;
const pty = { runner: 'pty' } as Launch;

/** A queue whose worker holds every job until the test ends it with `end(id)`. */
function setup(limits = { maxConcurrent: 2, fanoutParallel: 1 }) {
  const waiting = new Map<string, Waiting>();
  const changed: string[] = [];
  const log = { error: vi.fn() } as unknown as Logger;
  const queue = new JobQueue({ limits, waiting, changed: (r) => changed.push(r.id), log });
  const started: string[] = [];
  const ends = new Map<string, (fail?: Error) => void>();
  queue.serve((active: Active) => {
    started.push(active.row.id);
    return new Promise<void>((resolve, reject) =>
      ends.set(active.row.id, (fail) => {
        if (!fail) queue.settle(active, active.row);
        return fail ? reject(fail) : resolve();
      }),
    );
  });
  const end = async (id: string, fail?: Error) => {
    ends.get(id)!(fail);
    // The worker's settlement frees its place a few microtasks later.
    await new Promise((r) => setImmediate(r));
  };
  return { queue, waiting, changed, log, started, end };
}

describe('JobQueue', () => {
  it('starts jobs first in, first out while there is room, and says why the rest wait', async () => {
    const { queue, waiting, changed, started, end } = setup();
    for (const id of ['a', 'b', 'c', 'd']) queue.admit(row(id), batch);
    expect(started).toEqual(['a', 'b']);
    expect(queue.runningCount).toBe(2);
    expect(queue.queuedCount).toBe(2);
    expect(waiting.get('c')).toMatchObject({ reason: 'maxConcurrent' });
    expect(waiting.get('c')!.message).toContain('2 jobs are running already');
    expect(changed).toEqual(['c', 'd']);
    await end('a');
    expect(started).toEqual(['a', 'b', 'c']);
    expect(waiting.has('c')).toBe(false);
    // The reason did not change, so it was not announced again.
    expect(changed).toEqual(['c', 'd']);
    expect(queue.get('a')).toBeUndefined();
  });

  it('holds an @exclusive twin until the first run ends, and names that run', async () => {
    const { queue, waiting, started, end } = setup({ maxConcurrent: 5, fanoutParallel: 1 });
    queue.admit(row('a'), batch, { exclusiveKey: 'web:deploy' });
    queue.admit(row('b'), batch, { exclusiveKey: 'web:deploy' });
    queue.admit(row('c'), batch, { exclusiveKey: 'web:test' });
    expect(started).toEqual(['a', 'c']);
    expect(waiting.get('b')).toEqual({
      reason: 'exclusive',
      jobId: 'a',
      message: 'waits for the running make a to end (one run at a time)',
    });
    await end('a');
    expect(started).toEqual(['a', 'c', 'b']);
  });

  it("runs a fan-out's children at most fanoutParallel at once, and a closed group limits nothing", async () => {
    const { queue, waiting, started, end } = setup({ maxConcurrent: 5, fanoutParallel: 2 });
    queue.openGroup('g');
    for (const id of ['c1', 'c2', 'c3']) queue.admit(row(id), batch, { groupId: 'g' });
    expect(started).toEqual(['c1', 'c2']);
    expect(waiting.get('c3')).toMatchObject({ reason: 'fanout' });
    expect(queue.children('g').map((a) => a.row.id)).toEqual(['c1', 'c2', 'c3']);
    await end('c1');
    expect(started).toEqual(['c1', 'c2', 'c3']);
    queue.closeGroup('g');
    queue.admit(row('late'), batch, { groupId: 'g' });
    expect(started).toContain('late');
  });

  it('never makes a terminal wait behind batch jobs, nor counts it', () => {
    const { queue, started } = setup({ maxConcurrent: 1, fanoutParallel: 1 });
    queue.admit(row('a'), batch);
    queue.admit(row('b'), batch);
    queue.admit(row('t'), pty);
    expect(started).toEqual(['a', 't']);
    expect(queue.runningCount).toBe(1);
  });

  it('withdraws a job only while it waits', () => {
    const { queue, waiting, started } = setup({ maxConcurrent: 1, fanoutParallel: 1 });
    queue.admit(row('a'), batch);
    queue.admit(row('b'), batch);
    expect(queue.withdraw('a')).toBe(false);
    expect(queue.withdraw('b')).toBe(true);
    expect(waiting.has('b')).toBe(false);
    expect(queue.queuedCount).toBe(0);
    expect(started).toEqual(['a']);
  });

  it('on close starts nothing more and hands back the jobs that waited', async () => {
    const { queue, waiting, started, end } = setup({ maxConcurrent: 1, fanoutParallel: 1 });
    queue.admit(row('a'), batch);
    queue.admit(row('b'), batch);
    const queued = queue.close();
    expect(queue.isClosed).toBe(true);
    expect(queued.map((a) => a.row.id)).toEqual(['b']);
    expect(waiting.size).toBe(0);
    await end('a');
    expect(started).toEqual(['a']);
  });

  it("frees a job's place when its worker throws, logs why, and releases whoever waits on it", async () => {
    const { queue, log, started, end } = setup({ maxConcurrent: 1, fanoutParallel: 1 });
    const a = queue.admit(row('a'), batch, { exclusiveKey: 'k' });
    queue.admit(row('b'), batch, { exclusiveKey: 'k' });
    await end('a', new Error('the database went away'));
    await a.finished;
    expect(log.error).toHaveBeenCalledWith(
      expect.objectContaining({ jobId: 'a' }),
      'job runner failed',
    );
    expect(started).toEqual(['a', 'b']);
    expect(queue.runningCount).toBe(1);
  });

  it('tells each settled listener about the job and its final row, and waits for a worker', async () => {
    const waiting = new Map<string, Waiting>();
    const queue = new JobQueue({
      limits: { maxConcurrent: 1, fanoutParallel: 1 },
      waiting,
      changed: () => {},
      log: { error: vi.fn() } as unknown as Logger,
    });
    const heard: string[] = [];
    queue.onSettled((active, final) => heard.push(`${active.row.id}:${final.status}`));
    const a = queue.admit(row('a'), batch);
    expect(queue.queuedCount).toBe(1);
    queue.serve((active) => {
      queue.settle(active, { ...active.row, status: 'success' });
      return Promise.resolve();
    });
    await a.finished;
    expect(heard).toEqual(['a:success']);
    expect(queue.all()).toEqual([]);
  });
});
