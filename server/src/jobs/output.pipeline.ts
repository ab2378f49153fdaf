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
   * 0 (the default): no fixed wait. A write is committed in the next turn of the event loop when
   * none of this job's batches is in flight; else it waits for that commit and goes with whatever
   * else came meanwhile. Above 0: a write waits this long for others to join it (tests use a long
   * one to flush by hand).
   */
  flushMs?: number;
  flushBytes?: number;
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
  /** Batches handed to the store and not settled yet. */
  private inflight = 0;
  private chain: Promise<void> = Promise.resolve();
  /** Batches go to `publish` one after another, in seq order, each after its commit. */
  private published: Promise<void> = Promise.resolve();
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
    const batch = this.pending;
    const bytes = this.pendingBytes;
    const size = this.pendingSize;
    this.pending = [];
    this.pendingSize = 0;
    this.pendingBytes = 0;
    if (batch.length === 0 && bytes === 0) return this.settled();
    const events: Unmarked[] = [];
    for (const p of batch) {
      const data = p.parts.length === 1 ? p.parts[0]! : Buffer.concat(p.parts, p.size);
      for (const piece of splitBytes(data, this.o.maxChunkBytes)) {
        events.push({ seq: this.nextSeq++, stream: p.stream, data: piece, ts: p.ts });
      }
    }
    this.inflightBytes += size;
    this.inflight++;
    this.chain = this.chain.then(async () => {
      try {
        if (this.storage.is('abandoned', 'broken')) return;
        const stored = await this.commit(events, bytes);
        this.committed = events.at(-1)?.seq ?? this.committed;
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
              }),
            ),
        );
      } catch {
        // abandoned at shutdown, or a permanent error: the rest is not stored
      } finally {
        this.inflightBytes -= size;
        this.inflight--;
        this.updateBackpressure();
        // What came while this batch was in flight goes now, as one batch.
        if (this.pending.length > 0 || this.pendingBytes > 0) this.schedule();
      }
    });
    return this.settled();
  }

  /** Everything handed to the store so far is stored and published. */
  private settled(): Promise<void> {
    return this.chain.then(() => this.published);
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

  /** Flushes after flushMs, or with no fixed wait in the next turn unless a batch is in flight (see flushMs). */
  private schedule(): void {
    if (this.scheduled) return;
    if (this.o.flushMs > 0) {
      const timer = setTimeout(() => void this.flush(), this.o.flushMs);
      this.scheduled = () => clearTimeout(timer);
    } else if (this.inflight === 0) {
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
   * Retries until the store takes the batch: nothing written is ever dropped. Past `retryForMs` the
   * pipeline reports a failure once (the job will end `failed`) but keeps the output and keeps trying.
   * A permanent error (see `isPermanent`) is reported at once, and nothing more is stored.
   */
  private async commit(events: Unmarked[], bytes: number): Promise<StoredEvent[]> {
    const deadline = this.o.now() + this.o.retryForMs;
    for (let attempt = 1; ; attempt++) {
      try {
        if (this.lines === undefined) this.lines = await this.o.lineState!();
        const stored = this.mark(events);
        await this.o.store.append(this.o.jobId, stored.events, bytes);
        this.lines = stored.after;
        return stored.events;
      } catch (err) {
        if (this.storage.is('abandoned')) throw err;
        const permanent = this.o.isPermanent?.(err) ?? false;
        if (this.storage.is('storing') && (permanent || this.o.now() >= deadline)) {
          this.failure = err;
          this.storage.to(permanent ? 'broken' : 'failing');
          this.o.onFailure?.(err);
        }
        if (permanent) {
          this.storage.to('broken');
          throw err;
        }
        this.o.onRetry?.(err, attempt);
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** (attempt - 1), 2_000)));
      }
    }
  }

  /** The events with their line marks, and the state after them. */
  private mark(events: Unmarked[]): {
    events: (ByteEvent & StoredEvent)[];
    after: LineState | null;
  } {
    let state = this.lines ?? null;
    const out = events.map((e) => {
      if (state) state = advance(state, e.stream, e.data);
      return byteEvent(e.seq, e.stream, e.data, e.ts, {
        lineEnd: state?.lines ?? null,
        openStreams: state?.open ?? null,
      });
    });
    return { events: out, after: state };
  }

  /** Stops retrying (server shutdown): what is not stored by then is given up. */
  abandon(): void {
    this.storage.to('abandoned');
  }
}
