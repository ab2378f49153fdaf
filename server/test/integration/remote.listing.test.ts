// A remote project on a host that offers no isolation (as in a container without the privilege):
// its targets are listed in the safe mode, from the makefile text read over ssh, nothing runs, and
// GET /api/projects says so for that host.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProjectInfo, TargetInfo } from '@vmo/protocol';
import { startTestApp, type HttpClient, type TestApp } from '../fixtures/app.js';
import { startSshd, type SshdFixture } from '../fixtures/sshd.js';

const root = mkdtempSync(path.join(tmpdir(), 'vmo-remote-safe-'));
const local = path.join(root, 'local');
const remote = path.join(root, 'remote');
const bin = path.join(root, 'bin');
for (const d of [local, path.join(remote, 'mk'), bin]) mkdirSync(d, { recursive: true });
writeFileSync(path.join(local, 'Makefile'), 'here: ## Local\n\t@true\n');
writeFileSync(
  path.join(remote, 'Makefile'),
  `include mk/*.mk
STAMP := $(shell touch parsed-remotely)
.PHONY: deploy
##@ Ops
deploy: ## Deploy the app @confirm
\t@echo deploy
restart: deploy
`,
);
writeFileSync(path.join(remote, 'mk', 'db.mk'), 'migrate: ## Run the migrations\n\t@true\n');
// What unshare says where the kernel refuses a new namespace.
writeFileSync(
  path.join(bin, 'unshare'),
  '#!/bin/sh\necho "unshare: unshare failed: Operation not permitted" >&2\nexit 1\n',
);
chmodSync(path.join(bin, 'unshare'), 0o755);

describe('a remote project where the host gives no isolation', () => {
  let sshd: SshdFixture;
  let t: TestApp;
  let viewer: HttpClient;

  beforeAll(async () => {
    sshd = await startSshd({ setEnv: { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin` } });
    t = await startTestApp({
      config: {
        ssh: { config: sshd.configFile },
        projects: [{ alias: 'app', dir: local, remote: [{ host: 'vmo-test', dir: remote }] }],
      },
    });
    viewer = await t.loginAs('viewer');
  });
  afterAll(async () => {
    await t?.close();
    await sshd?.stop();
  });

  it('lists from the makefile text over ssh, runs nothing there, and says so', async () => {
    const res = await viewer.get('/api/projects/app/targets?host=vmo-test');
    expect(res.status).toBe(200);
    const targets = (await res.json()) as TargetInfo[];
    expect(targets.map((x) => [x.name, x.section, x.confirm ?? false])).toEqual([
      ['deploy', 'Ops', true],
      ['migrate', 'Ops', false],
      ['restart', null, false],
    ]);
    expect(existsSync(path.join(remote, 'parsed-remotely'))).toBe(false);
    const [project] = (await (await viewer.get('/api/projects')).json()) as ProjectInfo[];
    expect(project!.listing).toEqual({ mode: 'isolated' });
    expect(project!.remote).toEqual([
      {
        host: 'vmo-test',
        dir: remote,
        listing: { mode: 'safe', reason: 'unshare: unshare failed: Operation not permitted' },
      },
    ]);
  });
});
