import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_PAYLOAD_BYTES } from '../db/cluster.channel.js';
import { pack } from './cluster.service.js';
import { INSTANCE_ID_FILE, resolveInstanceId } from './instance-id.js';

describe('pack', () => {
  it('fits many jobs into as few NOTIFY payloads as the 8000-byte limit allows, each item once', () => {
    const ids = Array.from(
      { length: 400 },
      (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    );
    const payloads = pack('vm-1234abcd', [
      ...ids.map((id, i) => ({ e: [id, i + 1] as [string, number] })),
      { d: { jobId: ids[0]!, status: 'success' as const, exitCode: 0, signal: null, lastSeq: 9 } },
    ]);
    expect(payloads.length).toBeGreaterThan(1);
    expect(payloads.length).toBeLessThanOrEqual(Math.ceil((400 * 52) / MAX_PAYLOAD_BYTES) + 1);
    for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThan(MAX_PAYLOAD_BYTES);
    const parsed = payloads.map(
      (p) => JSON.parse(p) as { f: string; e?: [string, number][]; d?: unknown[] },
    );
    expect(parsed.every((m) => m.f === 'vm-1234abcd')).toBe(true);
    expect(parsed.flatMap((m) => m.e ?? [])).toEqual(ids.map((id, i) => [id, i + 1]));
    expect(parsed.flatMap((m) => m.d ?? [])).toHaveLength(1);
  });

  it('sends nothing for nothing', () => {
    expect(pack('a', [])).toEqual([]);
  });
});

describe('resolveInstanceId', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const dir = async () => {
    const d = await mkdtemp(path.join(tmpdir(), 'vmo-instance-'));
    dirs.push(d);
    return d;
  };

  it('uses cluster.instanceId when set, and "default" with the cluster off', async () => {
    const d = await dir();
    expect(resolveInstanceId({ enabled: true, instanceId: 'web-1' }, d)).toBe('web-1');
    expect(resolveInstanceId({ enabled: false, instanceId: null }, d)).toBe('default');
    await expect(readFile(path.join(d, INSTANCE_ID_FILE))).rejects.toThrow(/ENOENT/);
  });

  it('creates an id once per data dir and keeps it across restarts', async () => {
    const d = path.join(await dir(), 'not-yet');
    const first = resolveInstanceId({ enabled: true, instanceId: null }, d);
    expect(first).toMatch(/^[A-Za-z0-9_.-]+-[0-9a-f]{8}$/);
    expect(resolveInstanceId({ enabled: true, instanceId: null }, d)).toBe(first);
    expect(resolveInstanceId({ enabled: true, instanceId: null }, await dir())).not.toBe(first);
    await writeFile(path.join(d, INSTANCE_ID_FILE), 'chosen-by-hand\n');
    expect(resolveInstanceId({ enabled: true, instanceId: null }, d)).toBe('chosen-by-hand');
  });
});
