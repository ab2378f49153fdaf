// The fleet against a real sshd: a VM is named as itself in its jobs, its history and its audit
// entries, even when it is reached through another host's ssh entry or shares that entry with
// another VM (issue 22).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  decodeEventBytes,
  type AuditPage,
  type GroupLog,
  type JobDone,
  type JobPage,
  type JobWithChildren,
} from '@vmo/protocol';
import { startTestApp, type HttpClient, type TestApp, type TestSocket } from '../fixtures/app.js';
import { sshEntry, startSshd, type SshdFixture } from '../fixtures/sshd.js';

const root = mkdtempSync(path.join(tmpdir(), 'vmo-fleet-'));
const local = path.join(root, 'svc');
const deployed = path.join(root, 'srv', 'svc');

describe('a fleet of VMs behind shared ssh entries', () => {
  let sshd: SshdFixture;
  let t: TestApp;
  let operator: HttpClient;
  let admin: HttpClient;

  beforeAll(async () => {
    mkdirSync(local, { recursive: true });
    mkdirSync(deployed, { recursive: true });
    writeFileSync(path.join(local, 'Makefile'), 'build: ## Build here\n\t@echo built\n');
    writeFileSync(
      path.join(deployed, 'Makefile'),
      '.PHONY: status\nstatus: ## Where am I\n\t@echo "status of $(notdir $(CURDIR))"\n',
    );
    sshd = await startSshd();
    const envs = path.join(root, 'environments');
    // Both prod VMs sit behind one address, so both are reached through the first ssh entry
    // for it (vmo-test); staging's VM has the second entry's name.
    mkdirSync(path.join(envs, 'prod'), { recursive: true });
    writeFileSync(
      path.join(envs, 'prod', 'config.yml'),
      'vms:\n  app8: { host: 127.0.0.1 }\n  app9: { host: 127.0.0.1 }\n',
    );
    mkdirSync(path.join(envs, 'staging'), { recursive: true });
    writeFileSync(
      path.join(envs, 'staging', 'config.yml'),
      'vms:\n  vmo-test2: { host: 127.0.0.1 }\n',
    );
    // A DMZ VM is reached through a jump host, as many are.
    mkdirSync(path.join(envs, 'dmz'), { recursive: true });
    writeFileSync(path.join(envs, 'dmz', 'config.yml'), 'vms:\n  inner: { host: 10.9.9.9 }\n');
    const config = path.join(root, 'ssh_config');
    writeFileSync(
      config,
      [
        `Include ${sshd.configFile}`,
        sshEntry(sshd, 'inner', ['  ProxyJump vmo-test']),
        'Host nowhere',
        '  HostName 127.0.0.1',
        '  Port 9',
        `  UserKnownHostsFile ${sshd.knownHostsFile}`,
        '',
      ].join('\n'),
    );
    t = await startTestApp({
      config: {
        ssh: { config },
        vmConfig: { dir: envs },
        projects: [{ alias: 'svc', dir: local, remote: [{ host: 'vmo-test', dir: deployed }] }],
        presets: [
          { name: 'hi', command: 'echo hi' },
          {
            name: 'count',
            command: 'for i in $(seq 1 40); do echo "count $i"; sleep 0.05; done; echo oops >&2',
          },
        ],
        jobs: { graceSeconds: 1 },
      },
    });
    [operator, admin] = await Promise.all([t.loginAs('operator'), t.loginAs('admin')]);
  });
  afterAll(async () => {
    await t?.close();
    await sshd?.stop();
    await rm(root, { recursive: true, force: true });
  });

  const start = async (p: string, body: unknown) => {
    const res = await operator.post(p, body);
    const json = (await res.json()) as { jobId: string };
    expect(res.status, JSON.stringify(json)).toBe(201);
    return json.jobId;
  };
  const ended = async (id: string) => {
    let job!: JobWithChildren;
    await vi.waitFor(
      async () => {
        job = (await (await operator.get(`/api/jobs/${id}`)).json()) as JobWithChildren;
        expect(['success', 'failed', 'canceled', 'interrupted']).toContain(job.status);
      },
      { timeout: 20_000, interval: 100 },
    );
    return job;
  };

  it('names the VM a preset ran on, not only the ssh entry it went through', async () => {
    const vms = (await (await operator.get('/api/vms')).json()) as {
      id: string;
      sshAlias: string;
    }[];
    expect(vms.filter((v) => v.id.startsWith('prod/')).map((v) => v.sshAlias)).toEqual([
      'vmo-test',
      'vmo-test',
    ]);
    const job = await ended(
      await start('/api/jobs/ssh-logs', { hostAlias: 'vm:prod/app9', preset: 'hi' }),
    );
    expect(job).toMatchObject({
      status: 'success',
      host: 'vmo-test',
      environment: 'prod',
      vm: 'prod/app9',
      command: 'echo hi @ prod/app9',
    });
  });

  it("runs a project's target on a VM set up through its ssh entry, and says so", async () => {
    const job = await ended(
      await start('/api/jobs/stream', {
        alias: 'svc',
        target: 'status',
        hostAlias: 'vm:prod/app8',
      }),
    );
    expect(job).toMatchObject({
      status: 'success',
      type: 'ssh',
      vm: 'prod/app8',
      command: 'make status @ prod/app8',
    });
    const text = (
      (await (await operator.get(`/api/jobs/${job.id}/events`)).json()) as {
        events: { chunk: string }[];
      }
    ).events
      .map((e) => e.chunk)
      .join('');
    expect(text).toContain('status of svc');
  });

  it('fans out over an environment with one child per VM, each named, even on one ssh entry', async () => {
    const group = await ended(
      await start('/api/jobs/fanout', { environment: 'prod', preset: 'hi' }),
    );
    expect(group).toMatchObject({ status: 'success', environment: 'prod', vm: null });
    expect((group.children ?? []).map((c) => [c.vm, c.host, c.command]).sort()).toEqual([
      ['prod/app8', 'vmo-test', 'echo hi @ prod/app8'],
      ['prod/app9', 'vmo-test', 'echo hi @ prod/app9'],
    ]);
    // The group's own lines name the VMs too.
    const lines = (
      (await (await operator.get(`/api/jobs/${group.id}/events`)).json()) as {
        events: { chunk: string }[];
      }
    ).events
      .map((e) => e.chunk)
      .join('');
    expect(lines).toContain('fan-out to 2 hosts (prod/app8, prod/app9)');
    expect(lines).toContain('prod/app8: success (exit 0)');
  });

  it('filters the history and the audit log by VM and by environment', async () => {
    const staging = await ended(
      await start('/api/jobs/ssh-logs', { hostAlias: 'vm:staging/vmo-test2', preset: 'hi' }),
    );
    const list = async (q: string) =>
      ((await (await operator.get(`/api/jobs?limit=100&${q}`)).json()) as JobPage).items;
    const onApp9 = await list('vm=prod/app9');
    expect(onApp9.length).toBeGreaterThanOrEqual(2); // its own run and its fan-out child
    expect(new Set(onApp9.map((j) => j.vm))).toEqual(new Set(['prod/app9']));
    const inStaging = await list('environment=staging');
    expect(inStaging.map((j) => j.id)).toEqual([staging.id]);
    const inProd = await list('environment=prod');
    expect(new Set(inProd.map((j) => j.environment))).toEqual(new Set(['prod']));
    expect(inProd.some((j) => j.type === 'group')).toBe(true);

    const audit = async (q: string) =>
      ((await (await admin.get(`/api/audit?limit=100&${q}`)).json()) as AuditPage).items;
    const app9 = await audit('vm=prod/app9');
    expect(app9.map((e) => e.action)).toEqual(['job.run']);
    expect(app9[0]!.details).toMatchObject({
      environment: 'prod',
      vm: 'prod/app9',
      host: 'vmo-test',
    });
    const prod = await audit('environment=prod');
    expect(prod.map((e) => e.action).sort()).toEqual(['job.fanout', 'job.run', 'job.run']);
  });

  it('shows the route a VM is reached by, and checks on demand that it is reachable', async () => {
    const hosts = (await (await operator.get('/api/hosts')).json()) as {
      alias: string;
      proxyJump?: string[];
    }[];
    expect(hosts.find((h) => h.alias === 'inner')).toMatchObject({
      hostname: '127.0.0.1',
      port: sshd.port,
      proxyJump: ['vmo-test'],
    });
    expect(JSON.stringify(hosts)).not.toContain(sshd.clientKey);
    const vms = (await (await operator.get('/api/vms')).json()) as {
      id: string;
      sshAlias: string;
    }[];
    expect(vms.find((v) => v.id === 'dmz/inner')?.sshAlias).toBe('inner');

    const check = async (alias: string) => {
      const res = await operator.post(`/api/hosts/${encodeURIComponent(alias)}/check`);
      expect(res.status).toBe(200);
      return (await res.json()) as { reachable: boolean; error?: string; hostAlias: string };
    };
    // Through the jump host, to the VM.
    expect(await check('vm:dmz/inner')).toMatchObject({
      hostAlias: 'vm:dmz/inner',
      reachable: true,
    });
    const down = await check('nowhere');
    expect(down.reachable).toBe(false);
    expect(down.error).toMatch(/^could not run `true` on nowhere: /);
    expect((await operator.post('/api/hosts/not-a-host/check')).status).toBe(404);
    const checks = (await (await operator.get('/api/hosts/checks')).json()) as {
      hostAlias: string;
    }[];
    expect(checks.map((c) => c.hostAlias).sort()).toEqual(['nowhere', 'vm:dmz/inner']);
  });

  /** Follows a group merged until `stop` says so or group:done; what came, in order. */
  const followGroup = (
    socket: TestSocket,
    jobId: string,
    after: Record<string, number> = {},
    stop: (got: GroupLog[]) => boolean = () => false,
  ) =>
    new Promise<{ logs: GroupLog[]; done: JobDone | null; children: string[] }>((resolve) => {
      const logs: GroupLog[] = [];
      let children: string[] = [];
      const onLog = (e: GroupLog) => {
        logs.push(e);
        if (stop(logs)) resolve({ logs, done: null, children });
      };
      socket.on('group:log', onLog);
      // Binary mode: the same events as bytes, decoded as the web client does.
      socket.on('group:bytes', ({ data, ...e }) => onLog({ ...e, chunk: decodeEventBytes(data) }));
      socket.on('group:done', (done) => resolve({ logs, done, children }));
      socket.emit('join-group', { jobId, after }, (res) => {
        expect(res.ok, JSON.stringify(res)).toBe(true);
        if (res.ok) children = (res.children ?? []).map((c) => c.id);
      });
    });

  it("merges a group's output with its children's: mid-run, after a dropped connection, exactly once", async () => {
    const jobId = await start('/api/jobs/fanout', { environment: 'prod', preset: 'count' });
    // One client from the start; it drops after a while, and rejoins with what it holds.
    const s1 = await operator.socket();
    const first = await followGroup(s1, jobId, {}, (got) => got.length >= 30);
    s1.close();
    const held: Record<string, number> = {};
    for (const e of first.logs) held[e.source] = e.seq;
    const s2 = await operator.socket();
    const rest = await followGroup(s2, jobId, held);
    s2.close();
    // A second client joins late, from nothing, in binary mode: it gets all of it.
    const s3 = await operator.socket({ auth: { binary: true } });
    const late = await followGroup(s3, jobId);
    s3.close();
    expect(rest.done).toMatchObject({ jobId, status: 'success' });
    expect(late.done).toMatchObject({ jobId, status: 'success' });
    expect(rest.children.length).toBe(2);

    const group = await ended(jobId);
    const sources = [group.id, ...(group.children ?? []).map((c) => c.id)];
    const stored: Record<string, string[]> = {};
    for (const id of sources) {
      const page = (await (await operator.get(`/api/jobs/${id}/events?limit=1000`)).json()) as {
        events: { seq: number; chunk: string }[];
      };
      stored[id] = page.events.map((e) => `${e.seq}:${e.chunk}`);
    }
    // Each job's events exactly once and in order, byte for byte as stored; the jobs interleaved.
    const perJob = (logs: GroupLog[]) => {
      const out: Record<string, string[]> = Object.fromEntries(sources.map((id) => [id, []]));
      for (const e of logs) out[e.source]!.push(`${e.seq}:${e.chunk}`);
      return out;
    };
    expect(perJob([...first.logs, ...rest.logs])).toEqual(stored);
    expect(perJob(late.logs)).toEqual(stored);
    const order = late.logs.map((e) => e.source);
    // The group's own lines open and close its part: "fan-out to 2 hosts" first and the summary
    // last. Across jobs the merged view is commit order, and a child's line may commit before the
    // group's opening line or after its summary, so only the group's own order is asserted here.
    const own = late.logs.filter((e) => e.source === group.id).map((e) => e.chunk);
    expect(own[0]).toMatch(/fan-out to 2 hosts/);
    expect(own.at(-1)).toMatch(/of 2 hosts succeeded/);
    const switches = order.filter((s, i) => i > 0 && s !== order[i - 1]).length;
    expect(switches).toBeGreaterThan(4); // the hosts' lines interleaved, as they were written
  });

  it('refuses to merge a job that is not a group', async () => {
    const single = await ended(
      await start('/api/jobs/ssh-logs', { hostAlias: 'vm:prod/app8', preset: 'hi' }),
    );
    const s = await operator.socket();
    const answer = await new Promise((resolve) =>
      s.emit('join-group', { jobId: single.id }, resolve),
    );
    s.close();
    expect(answer).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
  });
});
