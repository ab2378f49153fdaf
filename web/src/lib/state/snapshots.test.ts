import { afterEach, describe, expect, it, vi } from 'vitest';
import { job } from '$lib/testing/job.js';
import { ActiveJobs } from './active-jobs.svelte.js';
import { Snapshots } from './snapshots.js';

/** A fetch whose answers wait until `release()`: the window in which changes race the load. */
function heldFetch(answer: (url: string) => unknown) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  vi.stubGlobal('fetch', async (url: RequestInfo | URL) => {
    await gate;
    return new Response(JSON.stringify(answer(String(url))), {
      headers: { 'content-type': 'application/json' },
    });
  });
  return { release };
}

afterEach(() => void vi.unstubAllGlobals());

describe('snapshots', () => {
  it('hands each fetch the latest change of every job heard while it was open, and no other', async () => {
    const snapshots = new Snapshots();
    snapshots.heard(job({ id: 'before' }));
    let answer!: (v: string) => void;
    const taking = snapshots.take(() => new Promise<string>((resolve) => (answer = resolve)));
    snapshots.heard(job({ id: 'a', status: 'queued' }));
    snapshots.heard(job({ id: 'b' }));
    snapshots.heard(job({ id: 'a', status: 'failed' }));
    answer('snapshot');
    const { value, since } = await taking;
    expect(value).toBe('snapshot');
    expect(since.map((j) => [j.id, j.status])).toEqual([
      ['b', 'running'],
      ['a', 'failed'],
    ]);
    snapshots.heard(job({ id: 'after' }));
    expect((await snapshots.take(async () => 1)).since).toEqual([]);
  });

  it('keeps a job that starts while the running jobs are being read (the answer predates it)', async () => {
    const { release } = heldFetch(() => ({ items: [], nextCursor: null }));
    const active = new ActiveJobs();
    const loading = active.load();
    active.apply(job({ id: 'started', status: 'running' }));
    active.apply(job({ id: 'gone', status: 'running' }));
    active.apply(job({ id: 'gone', status: 'success' }));
    release();
    await loading;
    expect(active.items.map((j) => j.id)).toEqual(['started']);
  });
});
