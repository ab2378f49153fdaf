// The `/jobs` socket handlers driven in-process: a stand-in socket (no port, no engine.io) and a
// real JobBus, with the job service and queries reduced to what each event asks of them.
import { EventEmitter } from 'node:events';
import type { User } from '@vmo/protocol';
import { describe, expect, it, vi } from 'vitest';
import { Access } from '../auth/permissions.js';
import type { SourcedEvent } from '../db/job-events.repository.js';
import type { JobRow } from '../db/jobs.repository.js';
import { AppError } from '../errors.js';
import { JobBus } from '../jobs/job.bus.js';
import type { JobQueries } from '../jobs/job.queries.js';
import type { JobService } from '../jobs/job.service.js';
import type { Logger } from '../logger.js';
import { registerJobHandlers } from './job.handlers.js';
import type { JobsSocket } from './socket.types.js';

const ID = '0b1c2d3e-0000-4000-8000-000000000001';
const user = (role: User['role']): User => ({
  id: `u-${role}`,
  username: role,
  provider: 'local',
  role,
  createdAt: '2026-01-01T00:00:00Z',
});

/** What a socket.io server socket offers the handlers, with what they sent kept in `sent`. */
function standIn(role: User['role']) {
  const incoming = new EventEmitter();
  const sent: [string, unknown][] = [];
  const disconnect = vi.fn();
  const socket = {
    data: { user: user(role), source: '127.0.0.1' },
    conn: new EventEmitter(),
    on: (event: string, fn: (...args: unknown[]) => void) => incoming.on(event, fn),
    emit: (event: string, payload: unknown) => sent.push([event, payload]),
    disconnect,
  };
  /** Sends an event as a client would and resolves with its ack. */
  const ask = (event: string, payload: unknown) =>
    new Promise<Record<string, unknown>>((resolve) => incoming.emit(event, payload, resolve));
  return { socket: socket as unknown as JobsSocket, incoming, sent, ask, disconnect };
}

function setup(role: User['role'] = 'operator', over: Partial<Record<string, unknown>> = {}) {
  const bus = new JobBus();
  const row = { id: ID, type: 'stream', status: 'running', last_seq: 0 } as JobRow;
  /** A group's children, when `row` is made a group. */
  const children: JobRow[] = [];
  /** Every job's stored events, in the order they were committed. */
  const stored: SourcedEvent[] = [];
  const rows = () => [row, ...children];
  const queries = {
    readableRow: vi.fn(() => Promise.resolve(row)),
    present: vi.fn((r: JobRow) => ({ id: r.id, status: r.status })),
    get: vi.fn((id: string) => Promise.resolve({ id })),
    childRows: vi.fn(() => Promise.resolve(children)),
    eventsAfterMany: vi.fn((cursors: { jobId: string; afterSeq: number }[]) =>
      Promise.resolve({
        events: stored.filter((e) =>
          cursors.some((c) => c.jobId === e.source && e.seq > c.afterSeq),
        ),
        more: false,
      }),
    ),
    endings: vi.fn((ids: string[]) =>
      Promise.resolve(
        new Map(
          rows()
            .filter((r) => ids.includes(r.id) && !['queued', 'running'].includes(r.status))
            .map((r) => [
              r.id,
              { jobId: r.id, status: r.status, exitCode: 0, signal: null, lastSeq: r.last_seq },
            ]),
        ),
      ),
    ),
  };
  const jobs = {
    startStream: vi.fn(() => Promise.resolve({ jobId: ID, type: 'stream' })),
    cancel: vi.fn((jobId: string) => Promise.resolve({ jobId, status: 'running' })),
    terminalInput: vi.fn(() => Promise.resolve()),
    terminalResize: vi.fn(() => Promise.resolve()),
  };
  const s = standIn(role);
  registerJobHandlers(s.socket, {
    jobs: jobs as unknown as JobService,
    queries: queries as unknown as JobQueries,
    bus,
    log: { error: vi.fn() } as unknown as Logger,
    access: new Access({ allowAdHoc: false, hostShells: 'off' }),
    ...over,
  });
  return { ...s, bus, row, children, stored, queries, jobs };
}

describe('the /jobs socket handlers', () => {
  it('check can() before they read the payload, and answer with its reason', async () => {
    const { ask, jobs } = setup('viewer');
    expect(await ask('execute-command', { nonsense: true })).toEqual({
      ok: false,
      error: { code: 'FORBIDDEN', message: 'this needs the operator role' },
    });
    expect(await ask('cancel-job', {})).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(jobs.startStream).not.toHaveBeenCalled();
  });

  it("parse each payload with the protocol's schema for that event", async () => {
    const { ask, jobs, sent } = setup();
    const bad = await ask('execute-command', { alias: 'web', target: 'build', force: true });
    expect(bad).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
    expect(await ask('execute-command', { alias: 'web', target: 'build' })).toEqual({
      ok: true,
      jobId: ID,
    });
    expect(jobs.startStream).toHaveBeenCalledWith(
      { alias: 'web', target: 'build' },
      expect.objectContaining({ role: 'operator' }),
      '127.0.0.1',
    );
    expect(sent).toEqual([['job:started', { job: { id: ID } }]]);
    expect(await ask('terminal:resize', { jobId: ID, cols: 0, rows: 10 })).toMatchObject({
      error: { code: 'VALIDATION' },
    });
  });

  it('hand keystrokes on in the order they came, without waiting a turn', () => {
    const { incoming, jobs } = setup();
    incoming.emit('terminal:input', { jobId: ID, data: 'a' });
    incoming.emit('terminal:input', { jobId: ID, data: 'b' }, 'not a function');
    expect(jobs.terminalInput.mock.calls.map((c) => (c as unknown[])[1])).toEqual(['a', 'b']);
  });

  it('turn a failure into an error ack, and an unknown one into INTERNAL that is logged', async () => {
    const boom = new Error('socket exploded');
    const { ask } = setup('operator', {
      jobs: {
        cancel: () => Promise.reject(new AppError('JOB_FINISHED', 'it has ended')),
        startStream: () => Promise.reject(boom),
      },
    });
    expect(await ask('cancel-job', { jobId: ID })).toEqual({
      ok: false,
      error: { code: 'JOB_FINISHED', message: 'it has ended' },
    });
    expect(await ask('execute-command', { alias: 'w', target: 't' })).toMatchObject({
      error: { code: 'INTERNAL' },
    });
  });

  it('disconnect a caller the database no longer knows, after the refusal', async () => {
    const { ask, disconnect } = setup('operator', { currentUser: () => Promise.resolve(null) });
    expect(await ask('join-job', { jobId: ID })).toMatchObject({
      error: { code: 'UNAUTHENTICATED' },
    });
    await new Promise((r) => setImmediate(r));
    expect(disconnect).toHaveBeenCalledWith(true);
  });

  it('replay a joined job from the database, go live, end with job:done, and stop on leave', async () => {
    const { ask, bus, stored, sent, row } = setup('viewer');
    stored.push({ source: ID, seq: 1, stream: 'stdout', chunk: 'one\n', ts: 1 });
    expect(await ask('join-job', { jobId: ID })).toEqual({
      ok: true,
      job: { id: ID, status: 'running' },
    });
    await vi.waitFor(() => expect(sent.length).toBe(1));
    bus.publishEvents(ID, [{ seq: 2, stream: 'stdout', chunk: 'two\n', ts: 2 }]);
    row.status = 'success';
    row.last_seq = 2;
    bus.publishDone({ jobId: ID, status: 'success', exitCode: 0, signal: null, lastSeq: 2 });
    await vi.waitFor(() => expect(sent.at(-1)?.[0]).toBe('job:done'));
    expect(sent.map(([e, p]) => `${e} ${(p as { seq?: number }).seq ?? ''}`)).toEqual([
      'job:log 1',
      'job:log 2',
      'job:done ',
    ]);
    expect(await ask('leave-job', { jobId: ID })).toEqual({ ok: true });
  });

  it('merge a group with its children in commit order, each job once, and end with group:done', async () => {
    const { ask, bus, stored, sent, row, children } = setup('viewer');
    const A = '0b1c2d3e-0000-4000-8000-00000000000a';
    const B = '0b1c2d3e-0000-4000-8000-00000000000b';
    Object.assign(row, { type: 'group' });
    children.push(
      { id: A, type: 'ssh', status: 'running', last_seq: 0, preset: 'uptime' } as JobRow,
      { id: B, type: 'ssh', status: 'running', last_seq: 0, preset: 'uptime' } as JobRow,
    );
    const ev = (source: string, seq: number, chunk: string): SourcedEvent => ({
      source,
      seq,
      stream: 'stdout',
      chunk,
      ts: seq,
    });
    stored.push(ev(ID, 1, 'fan-out'), ev(A, 1, 'a1'), ev(B, 1, 'b1'), ev(A, 2, 'a2'));
    // B's first line is held already: it is not sent again.
    expect(await ask('join-group', { jobId: ID, after: { [B]: 1 } })).toMatchObject({
      ok: true,
      children: [{ id: A }, { id: B }],
    });
    await vi.waitFor(() => expect(sent.length).toBe(3));
    // Live (published once committed): B's seq 3 without its 2 is a gap, read from the database.
    stored.push(ev(B, 2, 'b2'), ev(B, 3, 'b3'));
    bus.publishEvents(B, [ev(B, 3, 'b3')]);
    stored.push(ev(A, 3, 'a3'));
    bus.publishEvents(A, [ev(A, 3, 'a3')]);
    for (const r of [children[0]!, children[1]!, row]) {
      r.status = 'success';
      r.last_seq = r.id === ID ? 1 : 3;
      bus.publishDone({
        jobId: r.id,
        status: 'success',
        exitCode: 0,
        signal: null,
        lastSeq: r.last_seq,
      });
    }
    await vi.waitFor(() => expect(sent.at(-1)?.[0]).toBe('group:done'));
    const names: Record<string, string> = { [ID]: 'g', [A]: 'a', [B]: 'b' };
    expect(
      sent.map(([e, p]) => {
        const { source, seq } = p as { source?: string; seq?: number };
        return source ? `${names[source]}${seq}` : e;
      }),
    ).toEqual(['g1', 'a1', 'a2', 'b2', 'b3', 'a3', 'group:done']);
    expect(await ask('leave-group', { jobId: ID })).toEqual({ ok: true });
  });

  it('refuse to merge a job that is not a group', async () => {
    const { ask } = setup('viewer');
    expect(await ask('join-group', { jobId: ID })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION' },
    });
  });
});
