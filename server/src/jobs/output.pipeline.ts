// One job's output on its way to Postgres and the browsers: kept as bytes, cut per stream where
// UTF-8 decoding may restart (output/bytes.ts), coalesced, given seqs, committed in a batch, and
// only then published. Nothing on this path decodes: the text is derived when someone reads it.
import { advanceLinesBy, type JobEvent, type LineState, type Stream } from '@vmo/protocol';
import type { StoredEvent } from '../db/job-events.repository.js';
import {
  byteEvent,
  completeLength,
  countNewlines,
  endsOpen,
  splitBytes,
  type ByteEvent,
} from '../output/bytes.js';
import { StateMachine } from './state-machine.js';

/**
 * Where the pipeline's commits stand: `storing`; `failing` once storing failed for longer than
 * retryForMs (it keeps the output and keeps trying; the job will end failed); `broken` after an
 * error no retry can mend (nothing more is stored); `abandoned` at shutdown (nothing more is tried).
 */
export type StorageState = 'storing' | 'failing' | 'broken' | 'abandoned';
const STORAGE = {
  storing: ['failing', 'broken', 'abandoned'],
  failing: ['broken', 'abandoned'],
  broken: ['abandoned'],
  abandoned: [],
} as const;

/** What the pipeline takes in: all output, or (`cut`, past maxOutputBytes) none any more. */
export type IntakeState = 'open' | 'cut';
const INTAKE = { open: ['cut'], cut: [] } as const;

/** Whether the producer is asked to wait (`paused`: more than bufferBytes held). */
export type FlowState = 'flowing' | 'paused';
const FLOW = { flowing: ['paused'], paused: ['flowing'] } as const;

/** An event with where it leaves the job's lines (null or absent: unknown, see LineState). */
export interface EventStore {
  /** Commits the events and the job's new last_seq/output_bytes in one transaction. */
  append(jobId: string, events: StoredEvent[], addBytes: number): Promise<void>;
}

export interface PipelineOptions {
  jobId: string;
  store: EventStore;
  /** Called in seq order, after the batch is committed. */
  publish: (events: JobEvent[]) => void;
  /** Next seq to assign (1 for a new job). */
  firstSeq?: number;
  /**
   * Where the job's stored events left its lines, for a job that has some (firstSeq > 1); read once,
   * before the first commit. Null: they predate line marks, so these events get none either.
   */
  lineState?: () => Promise<LineState | null>;
  /**
   * 0 (the default): no fixed wait. A write is sent in the next turn of the event loop while fewer
   * than maxInflight of this job's batches are in flight; else it waits for a commit and goes with
   * whatever else came meanwhile. Above 0: a write waits this long for others to join it (tests use a long
   * one to flush by hand).
   */
  flushMs?: number;
  flushBytes?: number;
  /**
   * Batches of this job sent to the store at once (default 2): a later one may commit first; the
   * store's last_seq and this pipeline's publishing wait for the gap to fill.
   */
  maxInflight?: number;
  /** Output held in memory before the producer is paused. */
  bufferBytes?: number;
  /** An event holds at most this many bytes (a bigger write becomes several events). */
  maxChunkBytes?: number;
  /** Retries a failed commit with backoff until this many ms have passed, then fails the job. */
  retryForMs?: number;
  /** Raw output bytes kept; past this a system event says so and the rest is discarded. */
  maxOutputBytes?: number;
  onBackpressure?: (paused: boolean) => void;
  /** Called once when a commit failed for good (the job cannot be stored any more). */
  onFailure?: (err: unknown) => void;
  onRetry?: (err: unknown, attempt: number) => void;
  /** An error no retry can mend (the job's row is gone, say): fail at once and store no more. */
  isPermanent?: (err: unknown) => boolean;
  now?: () => number;
}

interface Pending {
  stream: Stream;
  parts: Buffer[];
  size: number;
  ts: number;
}

/** A stream's bytes not yet passed on: a sequence cut by a read, and whether its start (a BOM) is behind it. */
interface StreamCut {
  held: Buffer | null;
  started: boolean;
}

/** A batch flushed: `waiting` for a slot, `sent`, then `stored` or `lost`. */
interface Batch {
  events: Unmarked[];
  bytes: number;
  size: number;
  state: 'waiting' | 'sent' | 'stored' | 'lost';
  stored: StoredEvent[] | null;
  /** Resolves its flush() once it is published (or given up). */
  done: () => void;
}

/** A batch as handed to the store: events without their line marks yet. */
interface Unmarked {
  seq: number;
  stream: Stream;
  data: Buffer;
  ts: number;
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Where `data` written on `stream` leaves the job's lines (advanceLines, counted on bytes). */
function advance(state: LineState, stream: Stream, data: Buffer): LineState {
  if (data.length === 0) return state;
  return advanceLinesBy(state, stream, countNewlines(data), endsOpen(data));
}

export class OutputPipeline {
  private readonly streams = new Map<Stream, StreamCut>();
  private pending: Pending[] = [];
  private pendingSize = 0;
  private pendingBytes = 0;
  private inflightBytes = 0;
  private nextSeq: number;
  /** Cancels the scheduled flush, if one is. */
  private scheduled: (() => void) | null = null;
  /** Batches flushed and not yet published (or given up), in seq order. */
  private queue: Batch[] = [];
  /** Batches sent to the store and not settled yet. */
  private inflight = 0;
  /** Settles once the last batch flushed is stored and published. */
  private last: Promise<void> = Promise.resolve();
  /** Batches go to `publish` one after another, in seq order, each after its commit. */
  private published: Promise<void> = Promise.resolve();
  /** Reading where the job's stored output left its lines, before its first batch is sent. */
  private loading: Promise<void> | null = null;
  /** A batch was given up: nothing after it is published. */
  private lost = false;
  readonly storage = new StateMachine<StorageState>('output storage', 'storing', STORAGE);
  readonly intake = new StateMachine<IntakeState>('output intake', 'open', INTAKE);
  readonly flow = new StateMachine<FlowState>('output flow', 'flowing', FLOW);
  /** The error that made storage `failing` or `broken`. */
  private failure: unknown = null;
  private committed: number;
  private keptBytes = 0;
  private readonly o: Required<
    Omit<
      PipelineOptions,
      'onBackpressure' | 'onRetry' | 'onFailure' | 'firstSeq' | 'isPermanent' | 'lineState'
    >
  > &
    Pick<PipelineOptions, 'onBackpressure' | 'onRetry' | 'onFailure' | 'isPermanent' | 'lineState'>;
  /** Where the committed events left the job's lines; undefined until known, null if unknowable. */
  private lines: LineState | null | undefined;

  constructor(opts: PipelineOptions) {
    this.nextSeq = opts.firstSeq ?? 1;
    this.committed = this.nextSeq - 1;
    // A new job starts at line 0; a job with events already and no way to read where they left
    // its lines gets no marks (never wrong ones).
    if (this.nextSeq === 1) this.lines = { lines: 0, open: 0 };
    else if (!opts.lineState) this.lines = null;
    this.o = {
      flushMs: 0,
      flushBytes: 1024 * 1024,
      bufferBytes: 8 * 1024 * 1024,
      maxChunkBytes: 1024 * 1024,
      maxInflight: 2,
      maxOutputBytes: Number.MAX_SAFE_INTEGER,
      retryForMs: 60_000,
      now: Date.now,
      ...opts,
    };
  }

  /** The seq of the last event handed to the store so far. */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** The seq of the last event known to be in the database. */
  get committedSeq(): number {
    return this.committed;
  }

  /** True once output went past maxOutputBytes and the rest was discarded. */
  get truncated(): boolean {
    return this.intake.is('cut');
  }

  /** Set once storing was failing for longer than retryForMs (the output is still kept and retried). */
  get error(): unknown {
    return this.failure;
  }

  write(stream: Exclude<Stream, 'system'>, data: Buffer): void {
    if (this.intake.is('cut')) return;
    const room = this.o.maxOutputBytes - this.keptBytes;
    const kept = data.length > room ? data.subarray(0, room) : data;
    this.keptBytes += kept.length;
    this.pendingBytes += kept.length;
    this.add(stream, this.whole(stream, kept));
    if (kept !== data) {
      this.intake.to('cut');
      this.endStreams();
      this.system(
        `output truncated after ${this.o.maxOutputBytes} bytes (jobs.maxOutputBytes): the job keeps running, the rest of its output is discarded`,
      );
    }
  }

  /**
   * The bytes of `stream` that end on a whole sequence (what a sequence cut by this read still
   * waits for is held), without the BOM a stream may start with (the WHATWG decoder drops it).
   */
  private whole(stream: Stream, data: Buffer): Buffer {
    let cut = this.streams.get(stream);
    if (!cut) this.streams.set(stream, (cut = { held: null, started: false }));
    let bytes = cut.held ? Buffer.concat([cut.held, data]) : data;
    const n = completeLength(bytes);
    cut.held = n < bytes.length ? Buffer.from(bytes.subarray(n)) : null;
    bytes = n < bytes.length ? bytes.subarray(0, n) : bytes;
    if (!cut.started && bytes.length > 0) {
      cut.started = true;
      if (bytes.subarray(0, 3).equals(BOM)) bytes = bytes.subarray(3);
    }
    return bytes;
  }

  /** A line of our own (start, exit, cancel, errors). */
  system(text: string): void {
    this.add('system', Buffer.from(text.endsWith('\n') ? text : text + '\n', 'utf8'));
  }

  /** Ends every stream: a sequence still waiting for its continuation is passed on (it reads as U+FFFD). */
  endStreams(): void {
    for (const [stream, cut] of this.streams) if (cut.held) this.add(stream, cut.held);
    this.streams.clear();
  }

  /** Commits everything written so far; resolves when it is stored and published. Never rejects. */
  flush(): Promise<void> {
    this.scheduled?.();
    this.scheduled = null;
    const pending = this.pending;
    const bytes = this.pendingBytes;
    const size = this.pendingSize;
    this.pending = [];
    this.pendingSize = 0;
    this.pendingBytes = 0;
    if (pending.length === 0 && bytes === 0) return this.last;
    const events: Unmarked[] = [];
    for (const p of pending) {
      const data = p.parts.length === 1 ? p.parts[0]! : Buffer.concat(p.parts, p.size);
      for (const piece of splitBytes(data, this.o.maxChunkBytes)) {
        events.push({ seq: this.nextSeq++, stream: p.stream, data: piece, ts: p.ts });
      }
    }
    let done!: () => void;
    const settled = new Promise<void>((r) => (done = r));
    this.queue.push({ events, bytes, size, stored: null, state: 'waiting', done });
    this.inflightBytes += size;
    this.last = settled;
    this.pump();
    return settled;
  }

  /**
   * Sends the waiting batches while fewer than maxInflight are in flight, in seq order, each with
   * its line marks (from where the one before leaves the lines; read from the store first for a
   * job that has output already).
   */
  private pump(): void {
    while (this.inflight < this.o.maxInflight && !this.storage.is('abandoned', 'broken')) {
      const batch = this.queue.find((b) => b.state === 'waiting');
      if (!batch) return;
      if (this.lines === undefined) {
        this.loading ??= this.retrying(async () => {
          this.lines = await this.o.lineState!();
        }).then(
          () => this.pump(),
          () => this.release(),
        );
        return;
      }
      batch.state = 'sent';
      this.inflight++;
      const marked = this.mark(batch.events);
      void this.retrying(() => this.o.store.append(this.o.jobId, marked, batch.bytes)).then(
        () => this.settle(batch, 'stored', marked),
        () => this.settle(batch, 'lost', null),
      );
    }
    // Nothing more is stored: what waits is settled as lost, in order.
    if (this.storage.is('abandoned', 'broken')) this.release();
  }

  private settle(batch: Batch, state: 'stored' | 'lost', stored: StoredEvent[] | null): void {
    batch.state = state;
    batch.stored = stored;
    this.inflight--;
    this.inflightBytes -= batch.size;
    this.updateBackpressure();
    this.release();
    this.pump();
    // What came while batches were in flight goes now, as one batch.
    if (this.pending.length > 0 || this.pendingBytes > 0) this.schedule();
  }

  /**
   * Publishes the batches at the head of the queue that are stored, in seq order: a batch stored
   * ahead of one still in flight waits for it (the store's last_seq waits the same way). After a
   * batch that is lost (abandoned, or a permanent error) nothing more is published.
   */
  private release(): void {
    const gone = this.storage.is('abandoned', 'broken');
    while (this.queue.length > 0) {
      const batch = this.queue[0]!;
      if (batch.state === 'sent' || (batch.state === 'waiting' && !gone)) return;
      this.queue.shift();
      if (batch.state === 'waiting') this.inflightBytes -= batch.size;
      if (batch.state !== 'stored' || this.lost) {
        this.lost = true;
        batch.done();
        continue;
      }
      const stored = batch.stored!;
      this.committed = stored.at(-1)?.seq ?? this.committed;
      // Handed to the followers once this turn is over: the next batch's commit is sent first,
      // so encoding this one for the sockets overlaps the database's work on that one.
      this.published = this.published.then(
        () =>
          new Promise<void>((resolve) =>
            setImmediate(() => {
              try {
                this.o.publish(stored);
              } catch {
                // a follower's failure is its own: the job and the other followers go on
              }
              resolve();
              batch.done();
            }),
          ),
      );
    }
  }

  private add(stream: Stream, data: Buffer): void {
    if (data.length === 0) return;
    const last = this.pending.at(-1);
    if (last && last.stream === stream) last.parts.push(data);
    else this.pending.push({ stream, parts: [data], size: 0, ts: this.o.now() });
    this.pending.at(-1)!.size += data.length;
    this.pendingSize += data.length;
    if (this.pendingSize >= this.o.flushBytes) void this.flush();
    else this.schedule();
    this.updateBackpressure();
  }

  /** Flushes after flushMs, or with no fixed wait in the next turn while a slot is free (see flushMs). */
  private schedule(): void {
    if (this.scheduled) return;
    if (this.o.flushMs > 0) {
      const timer = setTimeout(() => void this.flush(), this.o.flushMs);
      this.scheduled = () => clearTimeout(timer);
    } else if (this.inflight < this.o.maxInflight) {
      const immediate = setImmediate(() => void this.flush());
      this.scheduled = () => clearImmediate(immediate);
    }
  }

  private updateBackpressure(): void {
    const held = this.inflightBytes + this.pendingSize;
    const next = held > this.o.bufferBytes ? 'paused' : 'flowing';
    if (!this.flow.is(next)) {
      this.flow.to(next);
      this.o.onBackpressure?.(next === 'paused');
    }
  }

  /**
   * Retries until `attempt` succeeds (the store takes the batch, or the line state is read): nothing
   * written is ever dropped. Past `retryForMs` the pipeline reports a failure once (the job will end
   * `failed`) but keeps the output and keeps trying. A permanent error (see `isPermanent`) is
   * reported at once, and nothing more is stored; so is shutdown (`abandon`).
   */
  private async retrying(attempt: () => Promise<void>): Promise<void> {
    const deadline = this.o.now() + this.o.retryForMs;
    for (let n = 1; ; n++) {
      if (this.storage.is('abandoned', 'broken')) throw new Error('output storage stopped');
      try {
        return await attempt();
      } catch (err) {
        if (this.storage.is('abandoned')) throw err;
        const permanent = this.o.isPermanent?.(err) ?? false;
        if (this.storage.is('storing') && (permanent || this.o.now() >= deadline)) {
          this.failure = err;
          this.storage.to(permanent ? 'broken' : 'failing');
          this.o.onFailure?.(err);
        }
        if (permanent) {
          this.storage.tryTo('broken');
          throw err;
        }
        this.o.onRetry?.(err, n);
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** (n - 1), 2_000)));
      }
    }
  }

  /** The events with their line marks; the lines move on past them (batches are marked in seq order). */
  private mark(events: Unmarked[]): (ByteEvent & StoredEvent)[] {
    let state = this.lines ?? null;
    const out = events.map((e) => {
      if (state) state = advance(state, e.stream, e.data);
      return byteEvent(e.seq, e.stream, e.data, e.ts, {
        lineEnd: state?.lines ?? null,
        openStreams: state?.open ?? null,
      });
    });
    this.lines = state;
    return out;
  }

  /** Stops retrying (server shutdown): what is not stored by then is given up. */
  abandon(): void {
    this.storage.to('abandoned');
    this.release();
  }
}
