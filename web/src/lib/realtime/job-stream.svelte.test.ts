import type { Job } from '@vmo/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { JobsSocket } from './connection.svelte.js';
import { JobStream, type JobSink, type SinkEvent } from './job-stream.svelte.js';

const JOB = { id: 'J1', type: 'stream', status: 'running' } as Job;

/** A socket that records what is emitted and lets the test play the server. */
class FakeSocket {
  connected = true;
  emitted: [string, unknown][] = [];
  #handlers = new Map<string, Set<(arg: unknown) => void>>();

  on(event: string, fn: (arg: unknown) => void) {
    this.#handlers.set(event, (this.#handlers.get(event) ?? new Set()).add(fn));
  }
  off(event: string, fn: (arg: unknown) => void) {
    this.#handlers.get(event)?.delete(fn);
  }
  emit(event: string, payload: unknown, ack?: (res: unknown) => void) {
    this.emitted.push([event, payload]);
    if (event === 'join-job') ack?.({ ok: true, job: { ...JOB, id: 'j1' } });
  }
  serve(event: string, arg?: unknown) {
    for (const fn of this.#handlers.get(event) ?? []) fn(arg);
  }
  joins() {
    return this.emitted.filter(([e]) => e === 'join-job').map(([, p]) => p);
  }
}

class Sink implements JobSink {
  batches: SinkEvent[][] = [];
  append(events: readonly SinkEvent[]) {
    this.batches.push([...events]);
  }
  get seqs() {
    return this.batches.flat().map((e) => e.seq);
  }
}

const log = (seq: number) => ({ jobId: 'j1', seq, stream: 'stdout', chunk: `${seq}\n`, ts: seq });

function setup() {
  const socket = new FakeSocket();
  const sink = new Sink();
  const stream = new JobStream(JOB, sink);
  const detach = stream.attach(socket as unknown as JobsSocket);
  return { socket, sink, stream, detach };
}

describe(JobStream.name, () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('joins from 0, then hands events over in one batch per flush, in order, without duplicates', () => {
    const { socket, sink, stream } = setup();
    expect(socket.joins()).toEqual([{ jobId: 'j1', afterSeq: 0 }]);
    for (const seq of [1, 2, 2, 1, 3]) socket.serve('job:log', log(seq));
    socket.serve('job:log', { ...log(4), jobId: 'other' });
    expect(sink.batches).toEqual([]);
    vi.runAllTimers();
    expect(sink.batches.length).toBe(1);
    expect(sink.seqs).toEqual([1, 2, 3]);
    expect(stream.lastSeq).toBe(3);
  });

  it("takes binary mode's bytes, decoded as the text events would carry them", () => {
    const { socket, sink } = setup();
    const bytes = (seq: number, data: number[]) => ({
      jobId: 'j1',
      seq,
      stream: 'stdout',
      data: new Uint8Array(data).buffer,
      ts: seq,
    });
    socket.serve('job:bytes', bytes(1, [0xef, 0xbb, 0xbf, 0x68, 0xc3, 0xa9, 0x0a])); // BOM kept: only the server drops a stream's first
    socket.serve('job:bytes', bytes(2, [0xe2, 0x9c, 0x93, 0xff]));
    socket.serve('job:log', log(3));
    vi.runAllTimers();
    expect(sink.batches.flat().map((e) => e.chunk)).toEqual(['\uFEFFhé\n', '✓\uFFFD', '3\n']);
    expect(sink.batches.flat()[0]).not.toHaveProperty('data');
  });

  it('rejoins from the last seq it holds after job:resync and after a reconnect', () => {
    const { socket } = setup();
    socket.serve('job:log', log(1));
    socket.serve('job:log', log(2));
    socket.serve('job:resync', { jobId: 'j1', afterSeq: 1 });
    socket.serve('connect');
    expect(socket.joins().slice(1)).toEqual([
      { jobId: 'j1', afterSeq: 2 },
      { jobId: 'j1', afterSeq: 2 },
    ]);
  });

  it('asks again instead of accepting a gap', () => {
    const { socket, sink } = setup();
    socket.serve('job:log', log(1));
    socket.serve('job:log', log(3));
    vi.runAllTimers();
    expect(sink.seqs).toEqual([1]);
    expect(socket.joins().at(-1)).toEqual({ jobId: 'j1', afterSeq: 1 });
  });

  it('delivers what is pending before taking the final status from job:done', () => {
    const { socket, sink, stream } = setup();
    socket.serve('job:log', log(1));
    socket.serve('job:done', { jobId: 'j1', status: 'success', exitCode: 0, signal: null });
    expect(sink.seqs).toEqual([1]);
    expect(stream.job.status).toBe('success');
    socket.serve('jobs:changed', { job: { ...JOB, id: 'j1', status: 'running' } });
    expect(stream.job.status).toBe('success');
  });

  it('keeps a group’s children current', () => {
    const { socket, stream } = setup();
    socket.serve('jobs:changed', { job: { ...JOB, id: 'c1', parentId: 'j1', status: 'queued' } });
    socket.serve('jobs:changed', { job: { ...JOB, id: 'c1', parentId: 'j1', status: 'failed' } });
    expect(stream.children.map((c) => [c.id, c.status])).toEqual([['c1', 'failed']]);
  });

  it('takes a group’s children from the join, and never shows one running again once it ended', () => {
    const child = (id: string, status: Job['status']) =>
      ({ ...JOB, id, parentId: 'j1', status }) as Job;
    const socket = new FakeSocket();
    // The join answers with the children as read once the listeners were in place: c2 started
    // and c1 failed while the page was loading, before it listened.
    socket.emit = function (event, payload, ack) {
      this.emitted.push([event, payload]);
      if (event === 'join-job')
        ack?.({
          ok: true,
          job: { ...JOB, id: 'j1', type: 'group' },
          children: [child('c1', 'failed'), child('c2', 'running')],
        });
    };
    const stream = new JobStream(
      { ...JOB, type: 'group', children: [child('c1', 'running')] },
      new Sink(),
    );
    stream.attach(socket as unknown as JobsSocket);
    expect(stream.children.map((c) => [c.id, c.status])).toEqual([
      ['c1', 'failed'],
      ['c2', 'running'],
    ]);
    // News that comes late (a change the snapshot already holds) changes nothing.
    socket.serve('jobs:changed', { job: child('c1', 'running') });
    socket.serve('jobs:changed', { job: child('c2', 'queued') });
    socket.serve('jobs:changed', { job: child('c2', 'success') });
    expect(stream.children.map((c) => [c.id, c.status])).toEqual([
      ['c1', 'failed'],
      ['c2', 'success'],
    ]);
  });

  it('joins again, less often each time, while the database cannot answer, and stops on detach', () => {
    const socket = new FakeSocket();
    let refusals = 2;
    socket.emit = function (event, payload, ack) {
      this.emitted.push([event, payload]);
      if (event !== 'join-job') return;
      if (refusals-- > 0)
        ack?.({
          ok: false,
          error: { code: 'DB_UNAVAILABLE', message: 'the database is unreachable' },
        });
      else ack?.({ ok: true, job: { ...JOB, id: 'j1' } });
    };
    const stream = new JobStream(JOB, new Sink());
    stream.attach(socket as unknown as JobsSocket);
    expect(socket.joins()).toHaveLength(1);
    expect(stream.error).toBe('the database is unreachable');
    vi.advanceTimersByTime(500);
    expect(socket.joins()).toHaveLength(2);
    vi.advanceTimersByTime(999);
    expect(socket.joins()).toHaveLength(2); // the second wait is twice the first
    vi.advanceTimersByTime(1);
    expect(socket.joins()).toHaveLength(3);
    expect(stream.error).toBeNull();
    vi.advanceTimersByTime(60_000);
    expect(socket.joins()).toHaveLength(3);

    // Detached while refused: no more joins.
    refusals = 5;
    const again = new JobStream(JOB, new Sink());
    const before = socket.joins().length;
    const detach = again.attach(socket as unknown as JobsSocket);
    detach();
    vi.advanceTimersByTime(60_000);
    expect(socket.joins()).toHaveLength(before + 1);
  });

  it('leaves the job and stops listening on detach', () => {
    const { socket, sink, detach } = setup();
    detach();
    socket.serve('job:log', log(1));
    vi.runAllTimers();
    expect(sink.seqs).toEqual([]);
    expect(socket.emitted.at(-1)).toEqual(['leave-job', { jobId: 'j1' }]);
  });

  it('waits for the socket to connect before joining', () => {
    const socket = new FakeSocket();
    socket.connected = false;
    new JobStream(JOB, new Sink()).attach(socket as unknown as JobsSocket);
    expect(socket.joins()).toEqual([]);
    socket.connected = true;
    socket.serve('connect');
    expect(socket.joins()).toEqual([{ jobId: 'j1', afterSeq: 0 }]);
  });

  it('follows a group merged: per job seqs, sources kept, rejoins with what it holds of each', () => {
    const child = (id: string, status: Job['status']) =>
      ({ ...JOB, id, parentId: 'j1', status }) as Job;
    const socket = new FakeSocket();
    let children = [child('c1', 'running')];
    socket.emit = function (event, payload, ack) {
      this.emitted.push([event, payload]);
      if (event === 'join-group')
        ack?.({ ok: true, job: { ...JOB, id: 'j1', type: 'group' }, children });
    };
    const sink = new Sink();
    const stream = new JobStream({ ...JOB, type: 'group', children }, sink, { merged: true });
    stream.attach(socket as unknown as JobsSocket);
    const glog = (source: string, seq: number) => ({ ...log(seq), source });
    for (const [source, seq] of [
      ['j1', 1],
      ['C1', 1],
      ['c1', 1],
      ['c1', 2],
      ['j1', 2],
    ] as const)
      if (seq === 2)
        socket.serve('group:bytes', {
          ...glog(source, seq),
          chunk: undefined,
          data: new TextEncoder().encode(`${seq}\n`),
        });
      else socket.serve('group:log', glog(source, seq));
    vi.runAllTimers();
    expect(sink.batches.flat().map((e) => e.chunk)).toEqual(['1\n', '1\n', '2\n', '2\n']);
    expect(sink.batches.flat().map((e) => `${e.source}${e.seq}`)).toEqual([
      'j11',
      'c11',
      'c12',
      'j12',
    ]);
    // A gap in one job asks again with what is held of each.
    socket.serve('group:log', glog('c1', 4));
    const joins = () => socket.emitted.filter(([e]) => e === 'join-group').map(([, p]) => p);
    expect(joins().at(-1)).toEqual({ jobId: 'j1', after: { j1: 2, c1: 2 } });
    // A child the join did not know (the group was still adding them) makes it join again, once.
    const before = joins().length;
    children = [...children, child('c2', 'queued')];
    socket.serve('jobs:changed', { job: child('c2', 'queued') });
    expect(joins().length).toBe(before + 1);
    socket.serve('jobs:changed', { job: child('c2', 'running') });
    expect(joins().length).toBe(before + 1);
    socket.serve('group:resync', { jobId: 'j1', after: { j1: 2 } });
    expect(joins().length).toBe(before + 2);
    socket.serve('group:done', { jobId: 'j1', status: 'failed', exitCode: null, signal: null });
    expect(stream.job.status).toBe('failed');
    stream.dispose();
    expect(socket.emitted.at(-1)).toEqual(['leave-group', { jobId: 'j1' }]);
  });
});
