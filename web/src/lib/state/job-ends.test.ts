import { describe, expect, it } from 'vitest';
import { job } from '$lib/testing/job.js';
import { JobEnds, jobEndMessage, noteStartedHere } from './job-ends.js';

describe(JobEnds.name, () => {
  it('tells of a job of mine that ends after this tab saw it queued or running, once', () => {
    const ends = new JobEnds('u1', new Set());
    expect(ends.observe(job({ status: 'queued' }))).toBeNull();
    expect(ends.observe(job({ status: 'running' }))).toBeNull();
    expect(ends.waiting).toEqual(['j1']);
    const done = job({ status: 'failed', exitCode: 2 });
    expect(ends.observe(done)).toBe(done);
    expect(ends.observe(done)).toBeNull();
    expect(ends.waiting).toEqual([]);
  });

  it('says nothing of a job it never saw running, nor of other users’ jobs', () => {
    const ends = new JobEnds('u1', new Set());
    expect(ends.observe(job({ status: 'success' }))).toBeNull();
    const lees = { requestedBy: { id: 'u2', username: 'lee' } };
    ends.observe(job({ ...lees, id: 'j2' }));
    expect(ends.observe(job({ ...lees, id: 'j2', status: 'success' }))).toBeNull();
  });

  it('tells of a job started from this tab even if its running state was never seen', () => {
    const startedHere = new Set<string>();
    const ends = new JobEnds('u1', startedHere);
    startedHere.add('j3');
    const done = job({ id: 'j3', status: 'canceled' });
    expect(ends.observe(done)).toBe(done);
    expect(startedHere.size).toBe(0);
  });

  it('knows of jobs the API started through noteStartedHere', () => {
    const ends = new JobEnds('u1');
    expect(noteStartedHere({ jobId: 'j4', type: 'stream' })).toEqual({
      jobId: 'j4',
      type: 'stream',
    });
    const done = job({ id: 'j4', status: 'interrupted' });
    expect(ends.observe(done)).toBe(done);
  });

  it('ignores spawned terminal apps and the children of a fan-out', () => {
    const ends = new JobEnds('u1', new Set());
    ends.observe(job({ type: 'terminal' }));
    expect(ends.observe(job({ type: 'terminal', status: 'spawned' }))).toBeNull();
    ends.observe(job({ id: 'c1', parentId: 'g1' }));
    expect(ends.observe(job({ id: 'c1', parentId: 'g1', status: 'success' }))).toBeNull();
  });
});

describe(jobEndMessage.name, () => {
  it("tells of a schedule's run only when it did not succeed", () => {
    const ends = new JobEnds('u1', new Set());
    const scheduled = { trigger: { kind: 'schedule' as const, id: 's1' } };
    for (const [id, status] of [
      ['a', 'success'],
      ['b', 'failed'],
    ] as const) {
      ends.observe(job({ ...scheduled, id, status: 'running' }));
      const done = job({ ...scheduled, id, status });
      expect(ends.observe(done)).toBe(status === 'success' ? null : done);
    }
  });

  it('names the target, or else the command', () => {
    expect(jobEndMessage(job({ status: 'success' }))).toBe('make hello — success');
    expect(jobEndMessage(job({ target: null, command: 'uptime', status: 'failed' }))).toBe(
      'uptime — failed',
    );
  });
});
