// GET /api/projects/:alias/stats: each target's last finished local runs and their median
// duration, as the project page's run strip shows them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectStats, STATS_RUNS } from '@vmo/protocol';
import { startTestApp, type HttpClient, type TestApp, type TestSocket } from '../fixtures/app.js';
import { ENGINE_PROJECT, follow } from '../fixtures/jobs.js';

describe('project stats over HTTP', () => {
  let t: TestApp;
  let operator: HttpClient;
  let socket: TestSocket;

  beforeAll(async () => {
    t = await startTestApp({
      config: {
        projects: [
          { alias: 'engine', dir: ENGINE_PROJECT },
          { alias: 'quiet', dir: ENGINE_PROJECT },
        ],
      },
    });
    operator = await t.loginAs('operator');
    socket = await operator.socket();
  });
  afterAll(async () => {
    socket?.close();
    await t?.close();
  });

  async function run(target: string, args?: Record<string, string>) {
    const res = await operator.post('/api/jobs/stream', { alias: 'engine', target, args });
    expect(res.status).toBe(201);
    const { jobId } = (await res.json()) as { jobId: string };
    await follow(socket, jobId);
    return jobId;
  }

  it('answers 401 without a session and 404 for an unknown project', async () => {
    const anonymous = await t.anonymous().get('/api/projects/engine/stats');
    expect(anonymous.status).toBe(401);
    const unknown = await operator.get('/api/projects/nope/stats');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({
      error: { code: 'UNKNOWN_PROJECT', message: expect.stringContaining('nope') },
    });
  });

  it('lists nothing for a project never run', async () => {
    const res = await operator.get('/api/projects/quiet/stats');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
  });

  it('gives each target its last runs newest first and the median of their durations', async () => {
    await run('hello', { NAME: 'a' });
    await run('fail');
    await run('hello', { NAME: 'b' });

    // Durations are set by hand so the median is known exactly: 1 s, 3 s and 2 s.
    const rows = await t.db.db
      .selectFrom('jobs')
      .select(['id', 'target', 'started_at'])
      .where('project', '=', 'engine')
      .orderBy('created_at')
      .execute();
    const seconds = [1, 3, 2];
    for (const [i, row] of rows.entries()) {
      await t.db.db
        .updateTable('jobs')
        .set({ finished_at: new Date(row.started_at!.getTime() + seconds[i]! * 1000) })
        .where('id', '=', row.id)
        .execute();
    }

    const res = await operator.get('/api/projects/engine/stats');
    expect(res.status).toBe(200);
    const stats = ProjectStats.parse(await res.json());
    expect(stats).toEqual([
      { target: 'fail', recent: ['failed'], medianMs: 3000 },
      { target: 'hello', recent: ['success', 'success'], medianMs: 1500 },
    ]);
  });

  it(`keeps only the last ${STATS_RUNS} runs of a target`, async () => {
    const requests = Array.from({ length: STATS_RUNS + 1 }, () => run('fail'));
    await Promise.all(requests);
    const stats = ProjectStats.parse(
      await (await operator.get('/api/projects/engine/stats')).json(),
    );
    const fail = stats.find((s) => s.target === 'fail')!;
    expect(fail.recent).toHaveLength(STATS_RUNS);
    expect(new Set(fail.recent)).toEqual(new Set(['failed']));
  });
});
