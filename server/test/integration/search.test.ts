// Search across every job's output (issue 25), against a real server, make and Postgres: the text
// a user sees (colours stripped, a progress line as it ended, a line split across two events, an
// invalid byte as U+FFFD, a 10 MB line), line numbers that open the job at the line, context,
// regex and case, paging newest first, filters, roles, and retention taking the index with it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { JobEvent, SearchPage } from '@vmo/protocol';
import { JobEventsRepository } from '../../src/db/job-events.repository.js';
import { JobsRepository } from '../../src/db/jobs.repository.js';
import { startTestApp, type HttpClient, type TestApp } from '../fixtures/app.js';
import { eventsSoFar, getJob } from '../fixtures/jobs.js';

// Targets in the styles real projects print: coloured errors, progress bars, slow writers.
const MAKEFILE = `# The release pipeline of a service
.PHONY: deploy progress split bytes huge context quiet

deploy: ## Deploy, and fail on the database
\t@echo "==> building image shop:1.4.2"
\t@echo "==> pushing image"
\t@printf '\\033[1;31mERROR\\033[0m E4711-QZ: connection refused (db-primary:5432)\\n' >&2
\t@exit 1

progress: ## Download with a progress bar
\t@printf 'fetching artefacts  10%%\\r'; sleep 0.2; printf 'fetching artefacts 100%%\\r\\n'
\t@echo done

split: ## A line written in two goes
\t@printf 'checksum mismatch in '; sleep 0.4; printf 'layer sha256:9f2c\\n'

bytes: ## An invalid byte
\t@printf 'bad byte \\377 in config.yaml\\n'

huge: ## One 10 MB line
\t@node -e "process.stdout.write('x'.repeat(10 * 1024 * 1024) + ' HUGE-MARKER ' + 'y'.repeat(100) + '\\\\n')"

context: ## A match between two lines
\t@echo "starting migration 0042"
\t@echo "migration 0042 failed: duplicate key value violates unique constraint"
\t@echo "rolling back"

quiet: ## Nothing to find
\t@echo "all good"
`;

describe('search', { timeout: 120_000 }, () => {
  let t: TestApp;
  let admin: HttpClient;
  let operator: HttpClient;
  let viewer: HttpClient;
  let dir: string;
  let stopIndexer: () => Promise<void>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vmo-search-'));
    await writeFile(path.join(dir, 'Makefile'), MAKEFILE);
    t = await startTestApp({
      config: {
        projects: [{ alias: 'shop', dir }],
        search: { pollSeconds: 0.2, runningEverySeconds: 0.5 },
        jobs: { retentionDays: 1 },
      },
    });
    [admin, operator, viewer] = await Promise.all([
      t.loginAs('admin'),
      t.loginAs('operator'),
      t.loginAs('viewer'),
    ]);
    stopIndexer = t.services.indexer.start();
  });
  afterAll(async () => {
    await stopIndexer?.();
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const run = async (target: string, client = operator) => {
    const res = await client.post('/api/jobs/stream', { alias: 'shop', target });
    expect(res.status).toBe(201);
    const { jobId } = (await res.json()) as { jobId: string };
    await vi.waitFor(async () => expect((await getJob(client, jobId)).finishedAt).not.toBeNull(), {
      timeout: 30_000,
      interval: 100,
    });
    return jobId;
  };
  const search = async (query: string, client: HttpClient = admin) => {
    const res = await client.get(`/api/search?${query}`);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as SearchPage;
  };
  /** Waits until `query` finds `jobId` (the indexer works in the background). */
  const found = async (query: string, jobId: string, client: HttpClient = admin) => {
    let page: SearchPage | undefined;
    await vi.waitFor(
      async () => {
        page = await search(query, client);
        expect(page.items.map((i) => i.job.id)).toContain(jobId);
      },
      { timeout: 20_000, interval: 150 },
    );
    return page!.items.find((i) => i.job.id === jobId)!;
  };
  /** The line `n` of a job as the log shows it: what `/jobs/:id#L<n>` opens at. */
  const lineOf = async (jobId: string, n: number) => {
    const events: JobEvent[] = await eventsSoFar(admin, jobId);
    const lines: string[] = [];
    const index = new Map<string, number>();
    for (const e of events) {
      const parts = e.chunk.split('\n');
      parts.forEach((part, k) => {
        if (!index.has(e.stream) && (part !== '' || k < parts.length - 1)) {
          index.set(e.stream, lines.length);
          lines.push('');
        }
        const at = index.get(e.stream);
        if (at !== undefined) lines[at] += part;
        if (k < parts.length - 1) index.delete(e.stream);
      });
    }
    return lines[n - 1];
  };

  it('finds a coloured error by its code, on its line, with the lines around it', async () => {
    const jobId = await run('deploy');
    const hit = await found('q=E4711-QZ', jobId);
    expect(hit.job).toMatchObject({ command: 'make deploy', status: 'failed', project: 'shop' });
    expect(hit.matches).toHaveLength(1);
    const [m] = hit.matches;
    expect(m!.text).toBe('ERROR E4711-QZ: connection refused (db-primary:5432)');
    expect(m!.ranges).toEqual([[6, 14]]);
    expect(m!.line).toBe(4); // after "started: …" and the two ==> lines
    expect(await lineOf(jobId, m!.line)).toContain('E4711-QZ');
    expect(m!.before).toEqual({ line: 3, text: '==> pushing image' });
    expect(m!.after?.text).toMatch(/^make: \*\*\* \[Makefile:\d+: deploy\] Error 1$/);
    // Case: insensitive unless asked.
    expect((await search('q=e4711-qz')).items.map((i) => i.job.id)).toContain(jobId);
    expect((await search('q=e4711-qz&case=1')).items).toEqual([]);
  });

  it('matches the text a user sees: a progress bar as it ended, a split line, an invalid byte', async () => {
    const progress = await run('progress');
    const hit = await found('q=artefacts', progress);
    expect(hit.matches.map((m) => m.text)).toEqual(['fetching artefacts 100%']);
    expect((await search('q=artefacts  10%25')).items.map((i) => i.job.id)).not.toContain(progress);

    const split = await run('split');
    const events = await eventsSoFar(admin, split);
    expect(
      events.filter((e) => e.chunk.includes('mismatch') || e.chunk.includes('sha256')),
    ).toHaveLength(2);
    const joined = await found('q=' + encodeURIComponent('mismatch in layer'), split);
    expect(joined.matches[0]!.text).toBe('checksum mismatch in layer sha256:9f2c');

    const bytes = await run('bytes');
    const bad = await found('q=' + encodeURIComponent('byte \uFFFD in'), bytes);
    expect(bad.matches[0]!.text).toBe('bad byte \uFFFD in config.yaml');
  });

  it('finds a word in a 10 MB line, shown as a window around it', async () => {
    const huge = await run('huge');
    const hit = await found('q=HUGE-MARKER', huge);
    const [m] = hit.matches;
    expect(m!.text.length).toBeLessThanOrEqual(400);
    expect(m!.offset).toBeGreaterThan(10 * 1024 * 1024 - 400);
    const [[a, b]] = m!.ranges as [[number, number]];
    expect(m!.text.slice(a, b)).toBe('HUGE-MARKER');
    // A block of its own: the lines of context come from the blocks either side.
    expect(m!.before?.text).toMatch(/^started: make huge/);
    expect(m!.after?.text).toMatch(/^exited with code 0/);
  });

  it('takes regular expressions, refusing a broken one with its reason', async () => {
    const ctx = await run('context');
    const hit = await found('regex=1&q=' + encodeURIComponent('migration [0-9]+ failed'), ctx);
    expect(hit.matches[0]).toMatchObject({
      text: 'migration 0042 failed: duplicate key value violates unique constraint',
      ranges: [[0, 21]],
      before: { text: 'starting migration 0042' },
      after: { text: 'rolling back' },
    });
    const bad = await admin.get('/api/search?regex=1&q=' + encodeURIComponent('(unclosed'));
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/regular expression/);
  });

  it('pages newest first, filters, and leaves out what the caller may not read', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await run('deploy', i === 2 ? admin : operator));
    await found('q=E4711-QZ', ids[2]!);
    const first = await search('q=E4711-QZ&limit=2');
    expect(first.items.map((i) => i.job.id)).toEqual([ids[2], ids[1]]);
    expect(first.nextCursor).not.toBeNull();
    const second = await search(`q=E4711-QZ&limit=2&before=${first.nextCursor}`);
    expect(second.items[0]!.job.id).toBe(ids[0]);
    const mine = await search('q=E4711-QZ&user=me', operator);
    expect(mine.items.map((i) => i.job.id)).not.toContain(ids[2]);
    expect((await search('q=E4711-QZ&status=success')).items).toEqual([]);
    expect((await search('q=E4711-QZ&project=other')).items).toEqual([]);

    // An ad-hoc command's output and another's terminal, written as the engine would.
    const jobs = new JobsRepository(t.db.db);
    const events = new JobEventsRepository(t.db.db);
    const me = (await (await operator.get('/api/auth/me')).json()) as { user: { id: string } };
    const hidden: Record<string, string> = {};
    for (const [type, owner] of [
      ['ssh', null],
      ['terminal', null],
      ['terminal', me.user.id],
    ] as const) {
      const row = await jobs.create({
        type,
        status: 'running',
        project: type === 'terminal' ? 'shop' : null,
        host: type === 'ssh' ? 'web1' : null,
        target: type === 'terminal' ? 'console' : null,
        preset: null,
        command: type === 'ssh' ? 'cat /etc/app/secret' : 'make console',
        args: {},
        argv: [],
        requested_by: owner,
        instance_id: null,
      });
      await events.append(
        row.id,
        [
          {
            seq: 1,
            stream: type === 'ssh' ? 'stdout' : 'pty',
            chunk: `PRIVATE-${type}-${owner ? 'own' : 'other'}\r\n`,
            ts: Date.now(),
          },
        ],
        30,
      );
      await jobs.transition(row.id, ['running'], {
        status: 'success',
        exit_code: 0,
        finished_at: new Date(),
      });
      hidden[`${type}-${owner ? 'own' : 'other'}`] = row.id;
    }
    t.services.indexer.nudge();
    const seen = async (client: HttpClient) =>
      (await search('q=PRIVATE-', client)).items.map((i) => i.matches[0]!.text).sort();
    // All three indexed (the indexer takes them one by one): the admin sees every one.
    await vi.waitFor(
      async () =>
        expect(await seen(admin)).toEqual([
          'PRIVATE-ssh-other',
          'PRIVATE-terminal-other',
          'PRIVATE-terminal-own',
        ]),
      { timeout: 20_000, interval: 150 },
    );
    expect(await seen(operator)).toEqual(['PRIVATE-terminal-own']);
    expect(await seen(viewer)).toEqual([]);
  });

  it('asks for a query, and drops the index with the jobs retention deletes', async () => {
    expect((await admin.get('/api/search')).status).toBe(400);
    expect((await admin.get('/api/search?q=x&before=nonsense')).status).toBe(400);
    const quiet = await run('quiet');
    await found('q=' + encodeURIComponent('all good'), quiet);
    await t.db.db
      .updateTable('jobs')
      .set({ finished_at: new Date(Date.now() - 3 * 86_400_000) })
      .execute();
    await t.services.retention.sweep();
    expect((await search('q=' + encodeURIComponent('all good'))).items).toEqual([]);
    const left = await t.db.db
      .selectFrom('search_blocks')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(left.n)).toBe(0);
  });
});
