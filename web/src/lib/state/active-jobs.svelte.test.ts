import { describe, expect, it } from 'vitest';
import { job } from '$lib/testing/job.js';
import { ActiveJobs, applyActive } from './active-jobs.svelte.js';

describe('active jobs', () => {
  it('adds queued and running jobs newest first, updates them in place, drops ended ones', () => {
    const older = job({ id: 'a', createdAt: '2025-01-01T00:00:00.000Z', status: 'queued' });
    const newer = job({ id: 'b', createdAt: '2025-01-01T00:00:01.000Z' });
    let items = applyActive([], older);
    items = applyActive(items, newer);
    expect(items.map((j) => j.id)).toEqual(['b', 'a']);
    items = applyActive(items, { ...older, status: 'running' });
    expect(items.map((j) => [j.id, j.status])).toEqual([
      ['b', 'running'],
      ['a', 'running'],
    ]);
    items = applyActive(items, { ...newer, status: 'success' });
    expect(items.map((j) => j.id)).toEqual(['a']);
    expect(applyActive(items, job({ id: 'c', status: 'failed' })).map((j) => j.id)).toEqual(['a']);
  });

  it('finds the local, top-level job of one target only', () => {
    const active = new ActiveJobs();
    active.apply(job({ id: 'remote', project: 'app', target: 'build', host: 'web1' }));
    active.apply(job({ id: 'child', project: 'app', target: 'build', parentId: 'g' }));
    active.apply(job({ id: 'other', project: 'app', target: 'test' }));
    expect(active.forTarget('app', 'build')).toBeUndefined();
    active.apply(job({ id: 'local', project: 'app', target: 'build' }));
    expect(active.forTarget('app', 'build')?.id).toBe('local');
    expect(active.forTarget('lib', 'build')).toBeUndefined();
  });
});
