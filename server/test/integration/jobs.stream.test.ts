// Running make targets for real: every byte live and stored, exactly once, in order (SPEC §2).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advanceLines, streamsIn, type Job, type LineState, type TailPage } from '@vmo/protocol';
import { startTestApp, type HttpClient, type TestApp, type TestSocket } from '../fixtures/app.js';
import {
  ENGINE_PROJECT,
  expectContiguous,
  follow,
  runDirectly,
  storedEvents,
  textOf,
} from '../fixtures/jobs.js';

describe('stream jobs: make targets, byte-exact', () => {
  let t: TestApp;
  let operator: HttpClient;
  let socket: TestSocket;
  let binarySocket: TestSocket;

  beforeAll(async () => {
    t = await startTestApp({ config: { projects: [{ alias: 'engine', dir: ENGINE_PROJECT }] } });
    operator = await t.loginAs('operator');
    socket = await operator.socket();
    binarySocket = await operator.socket({ auth: { binary: true } });
  });
  afterAll(async () => {
    socket?.close();
    binarySocket?.close();
    await t?.close();
  });

  async function start(target: string, args: Record<string, string> = {}): Promise<string> {
    const res = await operator.post('/api/jobs/stream', { alias: 'engine', target, args });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { jobId: string; type: string };
    expect(body.type).toBe('stream');
    return body.jobId;
  }

  const argvOf = (target: string, args: Record<string, string>) => [
    'make',
    '-C',
    ENGINE_PROJECT,
    '--no-print-directory',
    '--',
    target,
    ...Object.entries(args).map(([k, v]) => `${k}=${v}`),
  ];

  it.each([
    ['multibyte text written one byte at a time', 'multibyte'],
    ['carriage-return progress lines', 'progress'],
    ['a 10 MB line without a newline', 'bigline'],
    ['an unterminated last line', 'unterminated'],
    ['interleaved stdout and stderr', 'interleaved'],
    ['20 MB of output', 'twentymb'],
    ['invalid UTF-8 (and a NUL)', 'invalid'],
    ['byte order marks, at the start and later', 'bom'],
  ])('keeps %s byte-exact, live and stored', async (_what, mode) => {
    const jobId = await start('gen', { MODE: mode });
    // A text socket and a binary one (whose bytes are decoded as the web client does) at once.
    const [live, binary] = await Promise.all([follow(socket, jobId), follow(binarySocket, jobId)]);
    const direct = await runDirectly(argvOf('gen', { MODE: mode }));
    expect(binary.events).toEqual(live.events);

    expect(live.done).toMatchObject({ jobId, status: 'success', exitCode: 0, signal: null });
    expectContiguous(live.events);
    const stored = await storedEvents(operator, jobId, 7);
    expect(stored).toEqual(live.events);
    for (const stream of ['stdout', 'stderr'] as const) {
      const got = textOf(live.events, stream);
      const want = stream === 'stdout' ? direct.stdout : direct.stderr;
      expect(got.length).toBe(want.length);
      expect(got === want).toBe(true);
    }
    const system = textOf(live.events, 'system');
    expect(system).toContain('started: make gen MODE=' + mode);
    expect(system).toMatch(/exited with code 0 after \d+\.\d s\n$/);
    expect(live.events[0]!.stream).toBe('system');
    expect(live.events.at(-1)!.stream).toBe('system');

    const job = (await (await operator.get(`/api/jobs/${jobId}`)).json()) as Job;
    expect(job).toMatchObject({
      status: 'success',
      exitCode: 0,
      lastSeq: live.events.at(-1)!.seq,
      command: `make gen MODE=${mode}`,
    });
    const rawBytes = Buffer.byteLength(direct.stdout) + Buffer.byteLength(direct.stderr);
    // outputBytes counts the bytes written: more than the text's where it has U+FFFD or a dropped BOM.
    if (mode !== 'invalid' && mode !== 'bom') expect(job.outputBytes).toBe(rawBytes);
  });

  it.each(['interleaved', 'progress', 'unterminated', 'bigline'])(
    'reads the %s output back from its end, each page with where its lines start',
    async (mode) => {
      const jobId = await start('gen', { MODE: mode });
      const { events } = await follow(socket, jobId);
      // The reference: the line count and unfinished streams before each event, from the start.
      const before: LineState[] = [];
      let state: LineState = { lines: 0, open: 0 };
      for (const e of events) {
        before.push(state);
        state = advanceLines(state, e.stream, e.chunk);
      }
      // Small pages (an event that would take one past its bytes cut at a line's start), from
      // the end back to the output's start: a line each (bytes=1), or a few for the long output.
      const bytes = mode === 'interleaved' ? 64 : 1;
      const pages: TailPage[] = [];
      for (let at: string | null = ''; at !== null;) {
        const res = await operator.get(`/api/jobs/${jobId}/tail?bytes=${bytes}${at}`);
        expect(res.status).toBe(200);
        const page = (await res.json()) as TailPage;
        pages.push(page);
        at =
          page.nextBefore === null
            ? null
            : `&before=${page.nextBefore}${page.nextCut === null ? '' : `&cut=${page.nextCut}`}`;
      }
      pages.reverse();
      // Each event's parts, joined, are the event; each page says where its lines start: the
      // reference before its first part's event, advanced over that event's parts before it.
      const joined: typeof events = [];
      for (const page of pages) {
        const first = page.events[0]!;
        const held = joined.at(-1)?.seq === first.seq ? joined.at(-1)!.chunk : '';
        // A part that does not start its event starts a line.
        if (held) expect(held.endsWith('\n')).toBe(true);
        const want = advanceLines(before[first.seq - 1]!, first.stream, held);
        expect(page.lineStart).toBe(want.lines);
        expect(page.open).toEqual(streamsIn(want.open));
        for (const e of page.events)
          if (joined.at(-1)?.seq === e.seq) joined.at(-1)!.chunk += e.chunk;
          else joined.push({ ...e });
      }
      expect(joined).toEqual(events);
      if (mode === 'interleaved') expect(pages.some((p) => p.nextCut !== null)).toBe(true);
      if (mode === 'bigline') expect(pages.every((p) => p.nextCut === null)).toBe(true);
      if (mode !== 'interleaved') expect(pages.some((p) => p.open.length > 0)).toBe(true);
      // One default page holds this whole small job, from line 0.
      const whole = (await (await operator.get(`/api/jobs/${jobId}/tail`)).json()) as TailPage;
      if (mode !== 'bigline')
        expect(whole).toEqual({ events, lineStart: 0, open: [], nextBefore: null, nextCut: null });
    },
  );

  it('answers bad tail queries with VALIDATION, and an old job without line marks with null', async () => {
    const jobId = await start('hello', { NAME: 'old' });
    const { events } = await follow(socket, jobId);
    for (const q of [
      'before=0',
      'before=x',
      'bytes=0',
      'limit=0',
      'limit=10001',
      'bytes=9999999',
      'after=1',
      'cut=1',
      `before=${events.length}&cut=0`,
      `before=${events.length}&cut=99999`, // past the event: not a cut this server gave out
    ])
      expect((await operator.get(`/api/jobs/${jobId}/tail?${q}`)).status, q).toBe(400);
    await t.db.db
      .updateTable('job_events')
      .set({ line_end: null, open_streams: null })
      .where('job_id', '=', jobId)
      .execute();
    const page = (await (await operator.get(`/api/jobs/${jobId}/tail`)).json()) as TailPage;
    expect(page).toEqual({ events, lineStart: null, open: [], nextBefore: null, nextCut: null });
  });

  it('records a failing target as failed with its exit code', async () => {
    const jobId = await start('fail');
    const { done, events } = await follow(socket, jobId);
    expect(done).toMatchObject({ status: 'failed', exitCode: 2 });
    expect(textOf(events, 'stderr')).toContain('failing');
    expect(textOf(events, 'system')).toContain('exited with code 2');
  });

  it('passes make variables as variables', async () => {
    const jobId = await start('hello', { NAME: 'wörld'.replace('ö', 'o') + '-1.2_3@x:y/z%+,=' });
    const { events } = await follow(socket, jobId);
    expect(textOf(events, 'stdout')).toBe('hello world-1.2_3@x:y/z%+,=\n');
  });

  it('gives a job an environment without the server secrets', async () => {
    const t2 = await startTestApp({
      config: { projects: [{ alias: 'engine', dir: ENGINE_PROJECT }] },
      env: {
        ...process.env,
        DATABASE_URL: 'postgres://secret',
        VMO_DATA_DIR: '/x',
        API_PASSWORD: 'p',
        GITHUB_TOKEN: 't',
        APP_SECRET: 's',
        MAKEFLAGS: '-j9',
        KEEP_ME: 'yes',
      },
    });
    try {
      const op = await t2.loginAs('operator');
      const s = await op.socket();
      const { jobId } = (await (
        await op.post('/api/jobs/stream', { alias: 'engine', target: 'env' })
      ).json()) as { jobId: string };
      const { events } = await follow(s, jobId);
      s.close();
      const env = textOf(events, 'stdout');
      expect(env).toContain('KEEP_ME=yes');
      for (const name of [
        'DATABASE_URL',
        'VMO_DATA_DIR',
        'API_PASSWORD',
        'GITHUB_TOKEN',
        'APP_SECRET',
      ])
        expect(env).not.toContain(name + '=');
      expect(env).not.toContain('-j9');
    } finally {
      await t2.close();
    }
  });

  it('replays a finished job to a late joiner, then sends job:done', async () => {
    const jobId = await start('hello', { NAME: 'late' });
    const first = await follow(socket, jobId);
    const other = await (await t.loginAs('viewer')).socket();
    const late = await follow(other, jobId);
    other.close();
    expect(late.events).toEqual(first.events);
    expect(late.done).toEqual(first.done);
    // Joining after a given seq replays only what follows it.
    const tail = await follow(socket, jobId, 2);
    expect(tail.events).toEqual(first.events.slice(2));
  });

  it('resumes after a reconnect mid-stream with afterSeq: no gap, no duplicate', async () => {
    const jobId = await start('lines', { N: '150' });
    const s1 = await operator.socket();
    const seen: number[] = [];
    await new Promise<void>((resolve) => {
      s1.on('job:log', (e) => {
        seen.push(e.seq);
        if (seen.length === 20) resolve();
      });
      s1.emit('join-job', { jobId }, () => {});
    });
    s1.close(); // the network drops
    const afterSeq = Math.max(...seen);
    const s2 = await operator.socket();
    const rest = await follow(s2, jobId, afterSeq);
    s2.close();
    expectContiguous(rest.events, afterSeq);
    const stored = await storedEvents(operator, jobId);
    expect(stored.slice(afterSeq)).toEqual(rest.events);
    expect(textOf(stored, 'stdout')).toBe(
      Array.from({ length: 150 }, (_, i) => `line ${i + 1}\n`).join(''),
    );
  });

  it('lets a second browser join a running job and see the same bytes', async () => {
    const jobId = await start('lines', { N: '60' });
    const viewerSocket = await (await t.loginAs('viewer')).socket();
    const [a, b] = await Promise.all([follow(socket, jobId), follow(viewerSocket, jobId)]);
    viewerSocket.close();
    expect(b.events).toEqual(a.events);
  });

  it('streams jobs:changed for queued, running and the final status', async () => {
    const changes: Job[] = [];
    const onChanged = ({ job }: { job: Job }) => changes.push(job);
    socket.on('jobs:changed', onChanged);
    const jobId = await start('hello', { NAME: 'x' });
    await follow(socket, jobId);
    const statuses = () => changes.filter((j) => j.id === jobId).map((j) => j.status);
    await expect.poll(statuses).toEqual(['queued', 'running', 'success']);
    socket.off('jobs:changed', onChanged);
  });

  it('starts through the socket with execute-command and tells the requester job:started', async () => {
    const started = new Promise<Job>((resolve) =>
      socket.once('job:started', ({ job }) => resolve(job)),
    );
    const ack = await socket.emitWithAck('execute-command', {
      alias: 'engine',
      target: 'hello',
      args: { NAME: 'sock' },
    });
    expect(ack.ok).toBe(true);
    if (!ack.ok) return;
    expect((await started).id).toBe(ack.jobId);
    const { events } = await follow(socket, ack.jobId);
    expect(textOf(events, 'stdout')).toBe('hello sock\n');
    const job = (await (await operator.get(`/api/jobs/${ack.jobId}`)).json()) as Job;
    expect(job.requestedBy?.username).toMatch(/^operator-/);
  });

  it('downloads the whole log as text, system lines on their own lines', async () => {
    const jobId = await start('gen', { MODE: 'unterminated' });
    await follow(socket, jobId);
    const res = await operator.get(`/api/jobs/${jobId}/log`);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('content-disposition')).toContain(`job-${jobId}.log`);
    const text = await res.text();
    expect(text).toMatch(
      /^\[vmo\] started: make gen MODE=unterminated \(pid \d+\)\nfirst line\nsecond line\nthe last line has no newline\n\[vmo\] exited with code 0/,
    );
  });

  it('re-runs a job with the same request', async () => {
    const jobId = await start('hello', { NAME: 'again' });
    await follow(socket, jobId);
    const res = await operator.post(`/api/jobs/${jobId}/rerun`);
    expect(res.status).toBe(201);
    const { jobId: second } = (await res.json()) as { jobId: string };
    expect(second).not.toBe(jobId);
    const { events } = await follow(socket, second);
    expect(textOf(events, 'stdout')).toBe('hello again\n');
  });
});
