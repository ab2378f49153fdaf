// The output pipeline against an in-memory EventStore: decoding, coalescing, seq, retries,
// backpressure and the commit-then-publish order of SPEC §2's guarantee.
import { describe, expect, it } from 'vitest';
import type { JobEvent } from '@vmo/protocol';
import { OutputPipeline, type EventStore, type PipelineOptions } from './output.pipeline.js';
import type { StoredEvent } from '../db/job-events.repository.js';
import { bytesOf } from '../output/bytes.js';

/** Records what was committed; can fail the next calls or hold them until released. */
class MemoryStore implements EventStore {
  committed: JobEvent[] = [];
  calls: { jobId: string; events: JobEvent[]; addBytes: number }[] = [];
  bytes = 0;
  failNext = 0;
  hold: Promise<void> | null = null;
  onAppend: () => void = () => {};

  async append(jobId: string, events: JobEvent[], addBytes: number): Promise<void> {
    this.calls.push({ jobId, events, addBytes });
    this.onAppend();
    if (this.hold) await this.hold;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error(`store down (${this.failNext} more)`);
    }
    this.committed.push(...events);
    this.bytes += addBytes;
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function pipeline(store: EventStore, opts: Partial<PipelineOptions> = {}) {
  const published: JobEvent[][] = [];
  const p = new OutputPipeline({
    jobId: 'job-1',
    store,
    publish: (events) => published.push(events),
    flushMs: 60_000, // flushes are explicit unless a test says otherwise
    ...opts,
  });
  return { p, published };
}

const text = (events: JobEvent[], stream: JobEvent['stream']) =>
  events
    .filter((e) => e.stream === stream)
    .map((e) => e.chunk)
    .join('');

const seqs = (events: JobEvent[]) => events.map((e) => e.seq);

describe(OutputPipeline.name, () => {
  it('coalesces writes to one stream into one event, and starts a new one on a stream change', async () => {
    const store = new MemoryStore();
    const { p, published } = pipeline(store);
    p.write('stdout', Buffer.from('a'));
    p.write('stdout', Buffer.from('b'));
    p.write('stdout', Buffer.from('c\n'));
    p.write('stderr', Buffer.from('oops\n'));
    p.write('stdout', Buffer.from('d'));
    p.system('exited');
    p.system('twice\n');
    await p.flush();
    expect(store.committed.map(({ seq, stream, chunk }) => ({ seq, stream, chunk }))).toEqual([
      { seq: 1, stream: 'stdout', chunk: 'abc\n' },
      { seq: 2, stream: 'stderr', chunk: 'oops\n' },
      { seq: 3, stream: 'stdout', chunk: 'd' },
      { seq: 4, stream: 'system', chunk: 'exited\ntwice\n' },
    ]);
    expect(store.calls).toHaveLength(1);
    expect(store.calls[0]).toMatchObject({ jobId: 'job-1', addBytes: 'abc\noops\nd'.length });
    expect(published).toEqual([store.committed]);
  });

  it('numbers events contiguously from firstSeq across flushes', async () => {
    const store = new MemoryStore();
    const { p } = pipeline(store, { firstSeq: 41 });
    expect(p.lastSeq).toBe(40);
    p.write('stdout', Buffer.from('one'));
    await p.flush();
    p.write('stderr', Buffer.from('two'));
    p.write('stdout', Buffer.from('three'));
    await p.flush();
    p.system('four');
    await p.flush();
    expect(seqs(store.committed)).toEqual([41, 42, 43, 44]);
    expect(p.lastSeq).toBe(44);
  });

  it('starts at seq 1 by default and stamps each event with the time of its first write', async () => {
    const store = new MemoryStore();
    let clock = 1_000;
    const { p } = pipeline(store, { now: () => clock });
    p.write('stdout', Buffer.from('a'));
    clock = 2_000;
    p.write('stdout', Buffer.from('b'));
    p.write('stderr', Buffer.from('c'));
    await p.flush();
    expect(store.committed).toEqual([
      { seq: 1, stream: 'stdout', chunk: 'ab', ts: 1_000, lineEnd: 1, openStreams: 1 },
      { seq: 2, stream: 'stderr', chunk: 'c', ts: 2_000, lineEnd: 2, openStreams: 3 },
    ]);
  });

  it("marks each event with where it leaves the job's lines, as the viewer counts them", async () => {
    const store = new MemoryStore();
    const { p, published } = pipeline(store);
    const writes: [JobEvent['stream'], string][] = [
      ['stdout', 'one\ntw'],
      ['stderr', 'err\n'],
      ['stdout', 'o\n\rprogress 1\rprogress 2'],
      ['stdout', '\n\n'],
    ];
    for (const [stream, chunk] of writes) {
      p.write(stream as 'stdout' | 'stderr', Buffer.from(chunk));
      await p.flush();
    }
    p.system('done');
    await p.flush();
    const marks = (store.committed as StoredEvent[]).map((e) => [e.lineEnd, e.openStreams]);
    // one, tw|o, err, progress 2, (empty), done
    expect(marks).toEqual([
      [2, 1],
      [3, 1],
      [4, 1],
      [5, 0],
      [6, 0],
    ]);
    expect(published.flat()).toEqual(store.committed);
  });

  it('publishes batches in order once stored, flush() waiting for it; a throwing publish harms nothing', async () => {
    const store = new MemoryStore();
    const seen: number[] = [];
    let calls = 0;
    const p = new OutputPipeline({
      jobId: 'job-1',
      store,
      flushMs: 60_000,
      publish: (events) => {
        if (++calls === 2) throw new Error('a follower broke');
        seen.push(...events.map((e) => e.seq));
      },
    });
    for (const text of ['a', 'b', 'c', 'd']) {
      p.write('stdout', Buffer.from(text));
      void p.flush();
    }
    await p.flush();
    expect(seqs(store.committed)).toEqual([1, 2, 3, 4]);
    expect(seen).toEqual([1, 3, 4]); // the second batch's publish threw; the others went out
  });

  it("continues a job's line count from the store, or leaves marks out when it has none", async () => {
    for (const [known, want] of [
      [{ lines: 41, open: 1 }, [42, 0]],
      [null, [null, null]],
    ] as const) {
      const store = new MemoryStore();
      let reads = 0;
      store.failNext = 1; // read once, even though the commit is retried
      const { p } = pipeline(store, {
        firstSeq: 8,
        lineState: () => (reads++, Promise.resolve(known)),
        onRetry: () => {},
      });
      p.write('stdout', Buffer.from('rest of a line\nnext\n'));
      await p.flush();
      const e = store.committed[0] as StoredEvent;
      expect(e.seq).toBe(8);
      expect([e.lineEnd, e.openStreams]).toEqual(want);
      expect(reads).toBe(1);
    }
    // Events before, and no way to read where they left the lines: no marks rather than wrong ones.
    const store = new MemoryStore();
    const { p } = pipeline(store, { firstSeq: 3 });
    p.write('stdout', Buffer.from('x\n'));
    await p.flush();
    const e = store.committed[0] as StoredEvent;
    expect([e.seq, e.lineEnd, e.openStreams]).toEqual([3, null, null]);
  });

  it('splits an event larger than maxChunkBytes into contiguous events, never inside a character', async () => {
    const store = new MemoryStore();
    const { p } = pipeline(store, { maxChunkBytes: 10 });
    p.write('stdout', Buffer.from('0123456789'.repeat(2) + '😀😀😀'));
    await p.flush();
    expect(store.committed.map((e) => e.chunk)).toEqual(['0123456789', '0123456789', '😀😀', '😀']);
    expect(seqs(store.committed)).toEqual([1, 2, 3, 4]);
  });

  it('keeps the bytes as written: each event decodes on its own to what one streaming decoder gives', async () => {
    // Random bytes, biased toward UTF-8 lead and continuation bytes, written in random pieces and
    // flushed at random: the events' texts joined equal the whole decoded at once.
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const alphabet = [0x41, 0x0a, 0x0d, 0x80, 0xbf, 0xc2, 0xc3, 0xe2, 0xed, 0xf0, 0xf4, 0xff];
    for (let round = 0; round < 200; round++) {
      const bytes = Buffer.from(Array.from({ length: 40 }, () => alphabet[rand(alphabet.length)]!));
      if (round % 3 === 0) bytes.set([0xef, 0xbb, 0xbf], 0); // a BOM first, dropped as a decoder does
      if (round % 5 === 0) bytes.set([0xef, 0xbb, 0xbf], 20); // and one later, kept
      const store = new MemoryStore();
      const { p } = pipeline(store, { maxChunkBytes: 1 + rand(8) });
      for (let at = 0; at < bytes.length;) {
        const n = 1 + rand(5);
        p.write('stdout', bytes.subarray(at, at + n));
        at += n;
        if (rand(3) === 0) await p.flush();
      }
      p.endStreams();
      await p.flush();
      expect(store.committed.map((e) => e.chunk).join('')).toBe(new TextDecoder().decode(bytes));
      for (const e of store.committed)
        expect(e.chunk).toBe(new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytesOf(e)));
    }
  });

  it('flushes by itself once flushBytes are pending', async () => {
    const store = new MemoryStore();
    const { p } = pipeline(store, { flushBytes: 8 });
    p.write('stdout', Buffer.from('abcd'));
    expect(store.calls).toHaveLength(0);
    p.write('stdout', Buffer.from('efgh'));
    await expect.poll(() => store.committed.map((e) => e.chunk)).toEqual(['abcdefgh']);
  });

  it('with no fixed wait: sends in the next turn, and what comes while no slot is free goes next as one batch', async () => {
    const store = new MemoryStore();
    const gate = deferred();
    store.hold = gate.promise;
    const { p, published } = pipeline(store, { flushMs: 0, maxInflight: 1 });
    p.write('stdout', Buffer.from('a'));
    p.write('stdout', Buffer.from('b')); // the same turn: the same event
    await new Promise((r) => setImmediate(r));
    expect(store.calls.map((c) => c.events.map((e) => e.chunk))).toEqual([['ab']]);
    // While that commit is held, writes wait for it, then go together.
    p.write('stdout', Buffer.from('c'));
    await new Promise((r) => setTimeout(r, 20));
    p.write('stderr', Buffer.from('d'));
    expect(store.calls).toHaveLength(1);
    gate.resolve();
    await expect
      .poll(() => store.calls.map((c) => c.events.map((e) => e.chunk)))
      .toEqual([['ab'], ['c', 'd']]);
    await p.flush();
    expect(published.flat().map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('flushes on its timer', async () => {
    const store = new MemoryStore();
    const { p, published } = pipeline(store, { flushMs: 5 });
    p.write('stdout', Buffer.from('tick\n'));
    p.system('and a system line');
    await expect
      .poll(() => published.flat().map((e) => e.chunk))
      .toEqual(['tick\n', 'and a system line\n']);
    expect(store.calls).toHaveLength(1);
  });

  it('decodes across writes and ends a truncated UTF-8 tail exactly as TextDecoder.decode() does', async () => {
    const bytes = Buffer.concat([
      Buffer.from('héllo ✓ 日本語 😀👍🏽\n'),
      Buffer.from([0x61, 0x80, 0x62, 0xc3, 0x28, 0xe2, 0x82, 0x64, 0xc0, 0xaf, 0xed, 0xa0, 0x80]),
      Buffer.from([0xff, 0x00, 0x65]),
      Buffer.from([0xf0, 0x9f, 0x98]), // a 4-byte sequence cut at the very end
    ]);
    const errBytes = Buffer.from([0x6f, 0x6b, 0xe2, 0x9c]); // "ok" then a cut ✓
    const store = new MemoryStore();
    const { p } = pipeline(store, { flushBytes: 7 }); // small flushes in between, too
    for (let i = 0; i < bytes.length; i++) {
      p.write('stdout', bytes.subarray(i, i + 1));
      if (i < errBytes.length) p.write('stderr', errBytes.subarray(i, i + 1));
    }
    await p.flush();
    // The tail is held until the stream ends.
    expect(text(store.committed, 'stdout')).toBe(new TextDecoder().decode(bytes.subarray(0, -3)));
    p.endStreams();
    p.endStreams(); // a second end adds nothing
    await p.flush();
    expect(text(store.committed, 'stdout')).toBe(new TextDecoder().decode(bytes));
    expect(text(store.committed, 'stdout').endsWith('e\uFFFD')).toBe(true);
    expect(text(store.committed, 'stderr')).toBe(new TextDecoder().decode(errBytes));
    expect(store.bytes).toBe(bytes.length + errBytes.length);
    expect(seqs(store.committed)).toEqual(store.committed.map((_, i) => i + 1));
  });

  it('counts the bytes of a sequence that has not decoded yet, without an empty event', async () => {
    const store = new MemoryStore();
    const { p, published } = pipeline(store);
    p.write('stdout', Buffer.from([0xe2, 0x9c]));
    await p.flush();
    expect(store.calls).toEqual([{ jobId: 'job-1', events: [], addBytes: 2 }]);
    p.write('stdout', Buffer.from([0x93]));
    await p.flush();
    expect(store.committed.map((e) => e.chunk)).toEqual(['✓']);
    expect(store.bytes).toBe(3);
    expect(published.flat().map((e) => e.chunk)).toEqual(['✓']);
  });

  it('does not call the store for an empty flush', async () => {
    const store = new MemoryStore();
    const { p, published } = pipeline(store);
    await expect(p.flush()).resolves.toBeUndefined();
    p.write('stdout', Buffer.from(''));
    p.endStreams();
    await p.flush();
    p.write('stdout', Buffer.from('x'));
    await p.flush();
    await p.flush();
    expect(store.calls).toHaveLength(1);
    expect(published).toHaveLength(1);
  });

  it('retries a failing store and loses nothing', async () => {
    const store = new MemoryStore();
    store.failNext = 2;
    const retries: [string, number][] = [];
    const { p, published } = pipeline(store, {
      onRetry: (err, attempt) => retries.push([(err as Error).message, attempt]),
    });
    p.write('stdout', Buffer.from('kept\n'));
    p.system('also kept');
    await p.flush();
    expect(retries).toEqual([
      ['store down (1 more)', 1],
      ['store down (0 more)', 2],
    ]);
    expect(store.calls).toHaveLength(3);
    expect(store.committed.map((e) => [e.seq, e.chunk])).toEqual([
      [1, 'kept\n'],
      [2, 'also kept\n'],
    ]);
    expect(store.bytes).toBe(5);
    expect(published).toEqual([store.committed]);
    expect(p.error).toBeNull();
  });

  it('retries without an onRetry callback too', async () => {
    const store = new MemoryStore();
    store.failNext = 1;
    const { p } = pipeline(store);
    p.write('stdout', Buffer.from('x'));
    await p.flush();
    expect(store.calls).toHaveLength(2);
    expect(store.committed.map((e) => e.chunk)).toEqual(['x']);
  });

  it('past retryForMs reports a failure once, keeps retrying, and loses nothing', async () => {
    const store = new MemoryStore();
    store.failNext = 4;
    // Each attempt takes a (simulated) second: the clock drives the deadline, not the wall.
    let clock = 0;
    store.onAppend = () => (clock += 1_000);
    const failures: unknown[] = [];
    const retries: number[] = [];
    const { p, published } = pipeline(store, {
      now: () => clock,
      retryForMs: 2_500,
      onFailure: (err) => failures.push(err),
      onRetry: (_err, attempt) => retries.push(attempt),
    });
    p.write('stdout', Buffer.from('kept through the outage\n'));
    const flushed = p.flush();
    // The third attempt is past the deadline: the failure is reported, and retrying goes on.
    await expect.poll(() => failures.length).toBe(1);
    expect(p.error).toBeInstanceOf(Error);
    expect(p.error).toBe(failures[0]);
    expect(p.committedSeq).toBe(0);
    expect(p.lastSeq).toBe(1);
    await expect(flushed).resolves.toBeUndefined();
    expect(store.calls).toHaveLength(5);
    expect(retries).toEqual([1, 2, 3, 4]);
    expect(failures).toHaveLength(1);
    expect(store.committed.map((e) => [e.seq, e.chunk])).toEqual([
      [1, 'kept through the outage\n'],
    ]);
    expect(published).toEqual([store.committed]);
    expect(p.committedSeq).toBe(1);
    expect(p.error).toBe(failures[0]); // the job still ends failed
  });

  it('fails at once on a permanent error, stores nothing more, and never spins', async () => {
    const store = new MemoryStore();
    store.failNext = Infinity;
    const failures: unknown[] = [];
    const retries: number[] = [];
    const { p, published } = pipeline(store, {
      isPermanent: () => true,
      onFailure: (err) => failures.push(err),
      onRetry: (_err, attempt) => retries.push(attempt),
    });
    p.write('stdout', Buffer.from('the row is gone\n'));
    await expect(p.flush()).resolves.toBeUndefined();
    expect(store.calls).toHaveLength(1);
    expect(failures).toHaveLength(1);
    expect(p.error).toBe(failures[0]);
    expect(retries).toEqual([]);

    p.write('stdout', Buffer.from('later\n'));
    await expect(p.flush()).resolves.toBeUndefined();
    expect(store.calls).toHaveLength(1);
    expect(failures).toHaveLength(1);
    expect(published).toEqual([]);
  });

  it('keeps retrying the errors isPermanent calls passing', async () => {
    const store = new MemoryStore();
    store.failNext = 2;
    const { p } = pipeline(store, { isPermanent: () => false });
    p.write('stdout', Buffer.from('x'));
    await p.flush();
    expect(store.calls).toHaveLength(3);
    expect(store.committed.map((e) => e.chunk)).toEqual(['x']);
  });

  it('reports a failure without an onFailure callback', async () => {
    const store = new MemoryStore();
    store.failNext = 1;
    const { p } = pipeline(store, { retryForMs: 0 });
    p.write('stdout', Buffer.from('x'));
    await p.flush();
    expect(p.error).toBeInstanceOf(Error);
    expect(store.committed.map((e) => e.chunk)).toEqual(['x']);
  });

  it('once abandoned, flush resolves and nothing later is stored or published', async () => {
    const store = new MemoryStore();
    store.failNext = Infinity;
    const { p, published } = pipeline(store, { retryForMs: 0 });
    p.write('stdout', Buffer.from('never stored'));
    const flushed = p.flush();
    await expect.poll(() => store.calls.length).toBeGreaterThanOrEqual(2);
    p.abandon();
    await expect(flushed).resolves.toBeUndefined();
    const calls = store.calls.length;

    p.write('stdout', Buffer.from('later'));
    p.system('the end');
    await expect(p.flush()).resolves.toBeUndefined();
    expect(store.calls).toHaveLength(calls);
    expect(store.committed).toEqual([]);
    expect(published).toEqual([]);
    expect(p.committedSeq).toBe(0);
  });

  it('stops keeping output at maxOutputBytes, says so once, and ends a cut character as U+FFFD', async () => {
    const store = new MemoryStore();
    const { p } = pipeline(store, { maxOutputBytes: 10 });
    p.write('stdout', Buffer.from('abcdefgh'));
    p.write('stderr', Buffer.from([0x65])); // 9 bytes kept so far
    expect(p.truncated).toBe(false);
    p.write('stdout', Buffer.from('✓✓')); // 6 bytes, 1 fits: the ✓ is cut after its first byte
    expect(p.truncated).toBe(true);
    p.write('stdout', Buffer.from('discarded'));
    p.write('stderr', Buffer.from('discarded too'));
    p.endStreams();
    await p.flush();
    expect(text(store.committed, 'stdout')).toBe('abcdefgh\uFFFD');
    expect(text(store.committed, 'stderr')).toBe('e');
    expect(text(store.committed, 'system')).toBe(
      'output truncated after 10 bytes (jobs.maxOutputBytes): the job keeps running, the rest of its output is discarded\n',
    );
    expect(store.bytes).toBe(10);
  });

  it('keeps output of exactly maxOutputBytes whole', async () => {
    const store = new MemoryStore();
    const { p } = pipeline(store, { maxOutputBytes: 4 });
    p.write('stdout', Buffer.from('✓'));
    p.write('stdout', Buffer.from('a'));
    p.endStreams();
    await p.flush();
    expect(p.truncated).toBe(false);
    expect(store.committed.map((e) => e.chunk)).toEqual(['✓a']);
    p.write('stdout', Buffer.from('b'));
    await p.flush();
    expect(p.truncated).toBe(true);
    expect(text(store.committed, 'stdout')).toBe('✓a');
  });

  it('asks to pause the producer while more than bufferBytes are held, and to resume once drained', async () => {
    const store = new MemoryStore();
    const gate = deferred();
    store.hold = gate.promise;
    const calls: boolean[] = [];
    const { p } = pipeline(store, {
      bufferBytes: 10,
      onBackpressure: (paused) => calls.push(paused),
    });
    p.write('stdout', Buffer.from('0123456789'));
    expect(calls).toEqual([]); // exactly bufferBytes is still fine
    p.write('stdout', Buffer.from('a'));
    expect(calls).toEqual([true]);
    const flushed = p.flush(); // now in flight, still held
    p.write('stderr', Buffer.from('b'));
    expect(calls).toEqual([true]);
    gate.resolve();
    await flushed;
    expect(calls).toEqual([true, false]);
    store.hold = null;
    await p.flush();
    expect(calls).toEqual([true, false]);
    expect(text(store.committed, 'stdout')).toBe('0123456789a');
    expect(text(store.committed, 'stderr')).toBe('b');
  });

  it('holds output past bufferBytes without an onBackpressure callback', async () => {
    const store = new MemoryStore();
    const { p } = pipeline(store, { bufferBytes: 1 });
    p.write('stdout', Buffer.from('more than one'));
    await p.flush();
    expect(text(store.committed, 'stdout')).toBe('more than one');
  });

  it.each([1, 2])(
    'publishes each batch after its commit and in seq order, with %i in flight',
    async (maxInflight) => {
      const store = new MemoryStore();
      const delays = [30, 0, 10, 0];
      const order: string[] = [];
      store.hold = null;
      const inner = store.append.bind(store);
      store.append = async (jobId, events, addBytes) => {
        await new Promise((r) => setTimeout(r, delays.shift() ?? 0));
        await inner(jobId, events, addBytes);
        order.push(`commit ${seqs(events).join(',')}`);
      };
      const published: JobEvent[][] = [];
      const p = new OutputPipeline({
        jobId: 'job-1',
        store,
        flushMs: 60_000,
        maxInflight,
        publish: (events) => {
          // Every event published is already in the store.
          for (const e of events) expect(store.committed).toContain(e);
          order.push(`publish ${seqs(events).join(',')}`);
          published.push(events);
        },
      });
      const flushes: Promise<void>[] = [];
      for (const line of ['a', 'b', 'c', 'd']) {
        p.write('stdout', Buffer.from(line));
        p.write('stderr', Buffer.from(line.toUpperCase()));
        flushes.push(p.flush());
      }
      await Promise.all(flushes);
      if (maxInflight === 1)
        expect(order).toEqual([
          'commit 1,2',
          'publish 1,2',
          'commit 3,4',
          'publish 3,4',
          'commit 5,6',
          'publish 5,6',
          'commit 7,8',
          'publish 7,8',
        ]);
      else {
        // Later batches commit first (the first is slower) and wait for it to be published.
        expect(order[0]).toBe('commit 3,4');
        const at = (o: string) => order.indexOf(o);
        for (const b of ['1,2', '3,4', '5,6', '7,8'])
          expect(at(`publish ${b}`)).toBeGreaterThan(Math.max(at(`commit ${b}`), at('commit 1,2')));
        expect(order.filter((o) => o.startsWith('publish'))).toEqual([
          'publish 1,2',
          'publish 3,4',
          'publish 5,6',
          'publish 7,8',
        ]);
      }
      expect(seqs(published.flat())).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    },
  );

  it('publishes nothing after a batch that is lost, though a later one was stored', async () => {
    const store = new MemoryStore();
    const gate = deferred();
    const inner = store.append.bind(store);
    let calls = 0;
    store.append = async (jobId, events, addBytes) => {
      if (++calls === 1) {
        await gate.promise;
        throw Object.assign(new Error('the job is gone'), { permanent: true });
      }
      await inner(jobId, events, addBytes);
    };
    const { p, published } = pipeline(store, {
      isPermanent: (err) => (err as { permanent?: boolean }).permanent === true,
    });
    p.write('stdout', Buffer.from('a'));
    const first = p.flush();
    p.write('stdout', Buffer.from('b'));
    const second = p.flush();
    await expect.poll(() => store.committed.length).toBe(1); // the second is stored, ahead
    gate.resolve();
    await Promise.all([first, second]);
    expect(p.storage.is('broken')).toBe(true);
    expect(published).toEqual([]);
    expect(p.committedSeq).toBe(0);
    p.write('stdout', Buffer.from('c'));
    await p.flush();
    expect(store.committed.map((e) => e.chunk)).toEqual(['b']);
  });
});
