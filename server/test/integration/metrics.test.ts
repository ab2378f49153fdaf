// GET /metrics: Prometheus' text format, parsed and checked against what a few jobs did.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '@vmo/protocol';
import { startTestApp, type HttpClient, type TestApp, type TestSocket } from '../fixtures/app.js';
import { ENGINE_PROJECT, follow } from '../fixtures/jobs.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The text exposition format (version 0.0.4): `name{label="value",…} number` lines, `#` comments. */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length !== 1)
    throw new Error(`${name} ${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0]!.value;
}

describe('GET /metrics', () => {
  let t: TestApp;
  let viewer: HttpClient;
  let operator: HttpClient;
  let socket: TestSocket;

  beforeAll(async () => {
    t = await startTestApp({
      config: {
        projects: [{ alias: 'engine', dir: ENGINE_PROJECT }],
        jobs: { maxConcurrent: 1, graceSeconds: 1 },
      },
    });
    viewer = await t.loginAs('viewer');
    operator = await t.loginAs('operator');
    socket = await operator.socket();
  });
  afterAll(async () => {
    socket?.close();
    await t?.close();
  });

  const scrape = async (client: HttpClient) => {
    const res = await client.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseMetrics(await res.text());
  };
  const start = async (target: string, args: Record<string, string> = {}) => {
    const res = await operator.post('/api/jobs/stream', { alias: 'engine', target, args });
    expect(res.status).toBe(201);
    return ((await res.json()) as { jobId: string }).jobId;
  };

  it('answers 401 without a session, before anything is collected', async () => {
    const res = await t.anonymous().get('/metrics');
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
  });

  it('counts jobs by status, the bytes committed, database writes and socket clients', async () => {
    const ids = [
      await start('hello', { NAME: 'metrics' }),
      await start('fail'),
      await start('lines', { N: '20' }),
    ];
    for (const id of ids) await follow(socket, id);
    const jobs = await Promise.all(
      ids.map(async (id) => (await (await operator.get(`/api/jobs/${id}`)).json()) as Job),
    );
    const second = await viewer.socket();
    try {
      const m = await scrape(viewer);
      expect(value(m, 'vmo_jobs', { status: 'success' })).toBe(2);
      expect(value(m, 'vmo_jobs', { status: 'failed' })).toBe(1);
      expect(m.filter((s) => s.name === 'vmo_jobs' && s.labels.status === 'running')).toEqual([]);
      expect(value(m, 'vmo_jobs_running')).toBe(0);
      expect(value(m, 'vmo_jobs_queued')).toBe(0);
      // Every byte of output the jobs stored, system lines included.
      const stored = jobs.reduce((n, j) => n + j.outputBytes, 0);
      expect(stored).toBeGreaterThan(0);
      expect(value(m, 'vmo_output_bytes_total')).toBe(stored);
      const commits = value(m, 'vmo_db_write_seconds_count');
      expect(commits).toBeGreaterThanOrEqual(3);
      expect(value(m, 'vmo_db_write_seconds_bucket', { le: '+Inf' })).toBe(commits);
      expect(value(m, 'vmo_db_write_seconds_sum')).toBeGreaterThan(0);
      expect(value(m, 'vmo_socket_clients')).toBe(2);
      // The pool after the jobs' writes: connections open (busy or idle); the scrape's own query may
      // be the one waiting for a connection.
      const busy = value(m, 'vmo_db_pool_connections', { state: 'busy' });
      const idle = value(m, 'vmo_db_pool_connections', { state: 'idle' });
      // Counts of the pool's connections: whole numbers, at least the one just used, at most
      // the pool's size (20).
      expect([busy, idle].every(Number.isInteger)).toBe(true);
      expect(busy + idle).toBeGreaterThanOrEqual(1);
      expect(busy + idle).toBeLessThanOrEqual(20);
      expect(value(m, 'vmo_db_pool_waiting')).toBeLessThanOrEqual(1);
      // prom-client's default process metrics come along, under our prefix.
      expect(value(m, 'vmo_process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(m.every((s) => s.labels.instance_id === 'default')).toBe(true);
    } finally {
      second.close();
    }
    await expect.poll(async () => value(await scrape(viewer), 'vmo_socket_clients')).toBe(1);
  });

  it('shows the running job and the queue behind maxConcurrent', async () => {
    const slow = await start('slow');
    const queued = await start('hello', { NAME: 'later' });
    await expect
      .poll(async () => {
        const m = await scrape(viewer);
        return [value(m, 'vmo_jobs_running'), value(m, 'vmo_jobs_queued')];
      })
      .toEqual([1, 1]);
    const m = await scrape(viewer);
    expect(value(m, 'vmo_jobs', { status: 'running' })).toBe(1);
    expect(value(m, 'vmo_jobs', { status: 'queued' })).toBe(1);
    for (const jobId of [queued, slow]) {
      const res = await operator.post('/api/jobs/cancel', { jobId });
      expect(res.status).toBe(202);
    }
    await follow(socket, slow);
    const after = await scrape(viewer);
    expect(value(after, 'vmo_jobs', { status: 'canceled' })).toBe(2);
    expect(value(after, 'vmo_jobs_running')).toBe(0);
    expect(value(after, 'vmo_jobs_queued')).toBe(0);
  });
});
