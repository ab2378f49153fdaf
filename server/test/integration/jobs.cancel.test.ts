// Cancel stops the whole process tree, queued jobs never start, finished jobs say so.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '@vmo/protocol';
import { startTestApp, type HttpClient, type TestApp, type TestSocket } from '../fixtures/app.js';
import { alive, ENGINE_PROJECT, follow, pidsIn, textOf } from '../fixtures/jobs.js';

describe('cancel', () => {
  let t: TestApp;
  let operator: HttpClient;
  let socket: TestSocket;
  let dir: string;

  beforeAll(async () => {
    t = await startTestApp({
      config: {
        projects: [{ alias: 'engine', dir: ENGINE_PROJECT }],
        jobs: { maxConcurrent: 1, graceSeconds: 1 },
      },
    });
    operator = await t.loginAs('operator');
    socket = await operator.socket();
    dir = await mkdtemp(path.join(tmpdir(), 'vmo-cancel-'));
  });
  afterAll(async () => {
    socket?.close();
    await t?.close();
  });

  const start = async (target: string, args: Record<string, string> = {}) =>
    (
      (await (
        await operator.post('/api/jobs/stream', { alias: 'engine', target, args })
      ).json()) as { jobId: string }
    ).jobId;

  it('stops make and every background child it started', async () => {
    const pidFile = path.join(dir, 'tree.pids');
    const jobId = await start('background', { PIDFILE: pidFile });
    const pids = await pidsIn(pidFile, 3, 5_000);
    expect(pids.every(alive)).toBe(true);

    const res = await operator.post('/api/jobs/cancel', { jobId });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ jobId, status: 'running' });
    // Within the test's own time, so that a job that never ends says what it last wrote.
    const { done, events } = await follow(socket, jobId, 0, 20_000);
    expect(done.status).toBe('canceled');
    expect(textOf(events, 'system')).toMatch(/canceled by operator-\w+/);
    await expect.poll(() => pids.filter(alive), { timeout: 5_000 }).toEqual([]);

    const again = await operator.post('/api/jobs/cancel', { jobId });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: { code: 'JOB_FINISHED' } });
  });

  it('stops children a finished make left behind, so the job ends', async () => {
    const pidFile = path.join(dir, 'left.pids');
    const jobId = await start('leave-behind', { PIDFILE: pidFile });
    const { done, events } = await follow(socket, jobId);
    expect(done).toMatchObject({ status: 'success', exitCode: 0 });
    expect(textOf(events, 'system')).toContain(
      'processes it left running in the background were stopped',
    );
    const pids = await pidsIn(pidFile, 1, 5_000);
    await expect.poll(() => pids.filter(alive), { timeout: 5_000 }).toEqual([]);
  });

  it('queues past maxConcurrent (FIFO), and a canceled queued job never starts', async () => {
    const running = await start('slow');
    const queued = await start('hello', { NAME: 'never' });
    const next = await start('hello', { NAME: 'next' });
    const get = async (id: string) => (await (await operator.get(`/api/jobs/${id}`)).json()) as Job;
    await expect.poll(async () => (await get(running)).status).toBe('running');
    expect((await get(queued)).status).toBe('queued');

    const ack = await socket.emitWithAck('cancel-job', { jobId: queued });
    expect(ack).toEqual({ ok: true, jobId: queued, status: 'canceled' });
    const q = await follow(socket, queued);
    expect(q.done.status).toBe('canceled');
    expect(textOf(q.events, 'stdout')).toBe('');
    expect(textOf(q.events, 'system')).toMatch(/canceled by operator-\w+ before it started/);
    expect((await get(queued)).startedAt).toBeNull();

    expect((await get(next)).status).toBe('queued');
    await operator.post('/api/jobs/cancel', { jobId: running });
    const n = await follow(socket, next);
    expect(n.done.status).toBe('success');
    expect(textOf(n.events, 'stdout')).toBe('hello next\n');
  });
});
