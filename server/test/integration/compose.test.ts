// The container files, checked without a Docker engine: Debian's docker-compose validates and
// resolves compose.yaml; the Dockerfile and the compose config file are read for what they promise.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const run = promisify(execFile);

interface Service {
  image?: string;
  build?: { context: string; args?: Record<string, string> };
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: string[];
  volumes?: string[];
}

async function composeConfig(env: NodeJS.ProcessEnv = {}): Promise<{
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}> {
  // No silent skip: scripts/ensure-system-deps.sh installs docker-compose (make test does).
  const { stdout } = await run(
    'docker-compose',
    ['-f', path.join(root, 'compose.yaml'), 'config'],
    {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: '/home/someone', ...env },
    },
  );
  return parseYaml(stdout) as never;
}

describe('compose.yaml (validated with docker-compose config; run by test/containers)', () => {
  it('runs the app on PostgreSQL 16, after the database is healthy, on loopback only', async () => {
    const { services, volumes } = await composeConfig();
    expect(Object.keys(services).sort()).toEqual(['app', 'db']);
    const { app, db } = services as { app: Service; db: Service };

    expect(db.image).toBe('postgres:16');
    expect(db.healthcheck!.test.join(' ')).toMatch(/pg_isready/);
    expect(db.volumes).toContain('db-data:/var/lib/postgresql/data:rw');
    expect(Object.keys(volumes).sort()).toEqual(['app-data', 'db-data']);

    expect(app.build!.context).toBe(root.replace(/\/$/, ''));
    expect(app.depends_on).toEqual({ db: { condition: 'service_healthy' } });
    expect(app.environment!.DATABASE_URL).toBe('postgres://vmo:vmo@db:5432/vmo');
    expect(app.environment!.VMO_CONFIG).toBe('/etc/vm-orchestrator/vmo.yaml');
    expect(app.ports).toEqual(['127.0.0.1:3000:3000/tcp']);
    expect(app.volumes).toEqual([
      '/home/someone/.ssh:/home/vmo/.ssh:ro',
      `${path.join(root, 'examples')}:/projects:ro`,
      `${path.join(root, 'deploy/vmo.compose.yaml')}:/etc/vm-orchestrator/vmo.yaml:ro`,
      'app-data:/data:rw',
    ]);
  });

  it('takes the password, port, projects and uid from the environment', async () => {
    const { services } = await composeConfig({
      VMO_DB_PASSWORD: 's3cret',
      VMO_PORT: '8080',
      VMO_PROJECTS: '/srv/projects',
      VMO_UID: '1234',
    });
    const { app, db } = services as { app: Service; db: Service };
    expect(db.environment!.POSTGRES_PASSWORD).toBe('s3cret');
    expect(app.environment!.DATABASE_URL).toBe('postgres://vmo:s3cret@db:5432/vmo');
    expect(app.ports).toEqual(['127.0.0.1:8080:3000/tcp']);
    expect(app.volumes).toContain('/srv/projects:/projects:ro');
    expect(app.build!.args).toEqual({ VMO_UID: '1234' });
  });

  it('uses only substitutions podman-compose reads as docker compose does', async () => {
    const text = readFileSync(path.join(root, 'compose.yaml'), 'utf8');
    // podman-compose 1.0 passes `${X:-}` (an empty default) through literally.
    expect(text).not.toMatch(/\$\{[A-Za-z_][A-Za-z0-9_]*:?-\}/);
    // The admin password passes from the shell when set, and is absent otherwise.
    const unset = await composeConfig();
    expect(unset.services.app!.environment!.VMO_ADMIN_PASSWORD ?? null).toBeNull();
    const set = await composeConfig({ VMO_ADMIN_PASSWORD: 'from-the-shell' });
    expect(set.services.app!.environment!.VMO_ADMIN_PASSWORD).toBe('from-the-shell');
  });

  it('mounts a config file the server accepts, with paths inside the container', () => {
    const config = loadConfig(
      ['--config', path.join(root, 'deploy/vmo.compose.yaml')],
      { DATABASE_URL: 'postgres://vmo:vmo@db:5432/vmo' },
      root,
    );
    expect(config.projects.map((p) => p.dir)).toEqual(['/projects/demo']);
    expect(existsSync(path.join(root, 'examples/demo/Makefile'))).toBe(true);
    expect(config.ssh.config).toBe('/home/vmo/.ssh/config');
    expect(config.ssh.strictHostKeyChecking).toBe('yes');
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  // Instructions with their continuation lines joined, comments dropped.
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const all = (keyword: string) =>
    instructions.filter((l) => l.startsWith(keyword + ' ')).map((l) => l.slice(keyword.length + 1));

  it('builds and installs in stages of their own and runs in another, from node:24-bookworm-slim, as the user vmo', () => {
    expect(all('ARG')).toContain('NODE_IMAGE=node:24-bookworm-slim');
    expect(all('FROM')).toEqual([
      '${NODE_IMAGE} AS toolchain',
      'toolchain AS build',
      'toolchain AS deps',
      '${NODE_IMAGE}',
    ]);
    const runtime = instructions.slice(instructions.findIndex((l) => l === 'FROM ${NODE_IMAGE}'));
    const runs = runtime.filter((l) => l.startsWith('RUN ')).join('\n');
    for (const pkg of ['openssh-client', 'make', 'tini']) expect(runs).toContain(` ${pkg}`);
    expect(runtime.filter((l) => l.startsWith('USER '))).toEqual(['USER vmo']);
    expect(runtime.join('\n')).toMatch(/HEALTHCHECK .*\/api\/health/);
    expect(runtime.join('\n')).toMatch(/HOST=0\.0\.0\.0/);
    expect(all('ENTRYPOINT')).toEqual(['["/usr/bin/tini", "--"]']);
    // The toolchain has what node-gyp needs for node-pty; the deps stage installs production
    // dependencies only, and the CA for npm is a build secret, not a layer.
    expect(instructions.join('\n')).toMatch(/python3 g\+\+ make/);
    expect(instructions.join('\n')).toMatch(/--mount=type=secret,id=npm_ca .*npm-ci --omit=dev/);
    expect(runtime.join('\n')).not.toMatch(/npm_ca|cafile/);
  });

  it('copies only what exists in the build context and is not excluded by .dockerignore', () => {
    const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', 'data', '.git']));
    const sources = all('COPY')
      .filter((c) => !c.startsWith('--from'))
      .flatMap((c) => c.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(5);
    for (const src of sources) expect(existsSync(path.join(root, src)), src).toBe(true);
    // The runtime stage takes every workspace's production dependencies (the whole /app of the
    // deps stage: manifests and node_modules trees) and what the build stage made.
    const from = (stage: string) =>
      all('COPY')
        .filter((c) => c.startsWith(`--from=${stage}`))
        .map((c) => c.split(/\s+/)[1]);
    expect(from('deps')).toEqual(['/app']);
    expect(from('build')).toEqual([
      '/app/packages/protocol/dist',
      '/app/server/dist',
      '/app/web/build',
    ]);
  });
});
