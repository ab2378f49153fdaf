// The ends of a user's own jobs kept until a page has shown them (issue 24), against Postgres.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Job } from '@vmo/protocol';
import { startTestApp, type HttpClient, type TestApp } from '../fixtures/app.js';
import { ENGINE_PROJECT } from '../fixtures/jobs.js';

describe('unseen ends', { timeout: 60_000 }, () => {
  let t: TestApp;
  let operator: HttpClient;
  let other: HttpClient;

  beforeAll(async () => {
    t = await startTestApp({ config: { projects: [{ alias: 'engine', dir: ENGINE_PROJECT }] } });
    [operator, other] = await Promise.all([t.loginAs('operator'), t.loginAs('operator')]);
  });
  afterAll(() => t?.close());

  const unseen = async (client: HttpClient) =>
    ((await (await client.get('/api/notifications/unseen')).json()) as Job[]).map((j) => j.id);

  it("keeps the end of each of the user's jobs until a page told it, for that user only", async () => {
    const ids: string[] = [];
    for (const target of ['hello', 'fail']) {
      const res = await operator.post('/api/jobs/stream', { alias: 'engine', target });
      ids.push(((await res.json()) as { jobId: string }).jobId);
    }
    await vi.waitFor(async () => expect((await unseen(operator)).sort()).toEqual([...ids].sort()), {
      timeout: 20_000,
      interval: 200,
    });
    expect(await unseen(other)).toEqual([]);
    // Another user saying they saw them changes nothing for the owner.
    expect((await other.post('/api/notifications/unseen/seen', { jobIds: ids })).status).toBe(204);
    expect(await unseen(operator)).toHaveLength(2);
    expect(
      (await operator.post('/api/notifications/unseen/seen', { jobIds: [ids[0]] })).status,
    ).toBe(204);
    expect(await unseen(operator)).toEqual([ids[1]]);
    const bad = await operator.post('/api/notifications/unseen/seen', { jobIds: ['nope'] });
    expect(bad.status).toBe(400);
  });
});
