// Follows one job over the /jobs socket (SPEC §2): joins with the last seq it holds, keeps events
// in seq order with no duplicate, rejoins after job:resync or a reconnect, and hands what arrived
// to its sink once per animation frame. Every view of a job's output is a thin layer over this.
// `merged`: a fan-out's output with its children's, each event tagged with the job that wrote it,
// held and rejoined per job in the same way.
import {
  decodeEventBytes,
  Disposables,
  FINAL_STATUSES,
  type Ack,
  type JobStatus,
  type Job,
  type JobDone,
  type JobEvent,
  type JobLog,
  type JobWithChildren,
  type ServerToClientEvents,
} from '@vmo/protocol';
import type { JobsSocket } from './connection.svelte.js';
import { TerminalOutbox } from './terminal-outbox.svelte.js';

/** An event as a sink gets it: in a merged stream, with the job that wrote it. */
/** A join refused while the database is out is asked again after this, doubling up to the max. */
const JOIN_RETRY_FIRST_MS = 500;
const JOIN_RETRY_MAX_MS = 8_000;

export interface SinkEvent extends JobEvent {
  source?: string;
}

/** Where the events go: log lines, or a terminal's byte stream. */
export interface JobSink {
  append(events: readonly SinkEvent[]): void;
}

/** How far along a status is: queued, then running, then any end. */
const stage = (status: JobStatus) =>
  status === 'queued' ? 0 : status === 'running' ? 1 : FINAL_STATUSES.includes(status) ? 2 : 1;

/** An event of binary mode as the text events carry it: its bytes decode on their own. */
function asText<E extends { data: Uint8Array | ArrayBuffer }>(
  e: E,
): Omit<E, 'data'> & { chunk: string } {
  const { data, ...rest } = e;
  return { ...rest, chunk: decodeEventBytes(data) };
}

/** A frame, or a timer when frames stop (a hidden tab), whichever comes first. */
const FLUSH_FALLBACK_MS = 250;

export class JobStream<S extends JobSink = JobSink> {
  /** The job as last heard of: the join ack, `jobs:changed`, `job:done`. */
  job: Job;
  /** A group's children, kept current from `jobs:changed`. */
  children: Job[];
  /** Set by `job:done`: every event of the job has been received. */
  done = $state.raw<JobDone | null>(null);
  /** The last join failure, cleared by the next successful one. */
  error = $state<string | null>(null);
  /** A terminal job's keystrokes and sizes; the server takes them from its owner or an admin. */
  readonly terminal = new TerminalOutbox((op) =>
    this.#request((s, ack) =>
      op.kind === 'input'
        ? s.emit('terminal:input', { jobId: this.jobId, data: op.data }, ack)
        : s.emit('terminal:resize', { jobId: this.jobId, cols: op.cols, rows: op.rows }, ack),
    ),
  );

  readonly jobId: string;
  readonly merged: boolean;
  /* eslint-disable svelte/prefer-svelte-reactivity -- bookkeeping of what was received and joined, never shown */
  /** The last seq received of each job (just this one, unless merged). */
  readonly #held = new Map<string, number>();
  #pending: SinkEvent[] = [];
  #frame = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #socket: JobsSocket | null = null;
  #detach: (() => void) | null = null;
  #joins = 0;
  #joining = false;
  /** A join the database could not answer is asked again after a while: the next one, and how long. */
  #retry: ReturnType<typeof setTimeout> | undefined;
  #retryMs = JOIN_RETRY_FIRST_MS;
  /** Merged: the children the last join followed, and those known when a join was sent. */
  #joined = new Set<string>();
  #asked = new Set<string>();
  /* eslint-enable svelte/prefer-svelte-reactivity */

  constructor(
    initial: JobWithChildren,
    readonly sink: S,
    options: { merged?: boolean } = {},
  ) {
    this.jobId = initial.id.toLowerCase();
    this.merged = options.merged ?? false;
    this.job = $state.raw(initial);
    this.children = $state.raw(initial.children ?? []);
  }

  /** The job's status as last heard of (reactive). */
  get status(): Job['status'] {
    return this.job.status;
  }

  /** Before the first join: what came up to `seq` is held already (read from the database). */
  startAfter(seq: number): void {
    if (this.lastSeq === 0) this.#held.set(this.jobId, seq);
  }

  /** The highest seq received of this job; a (re)join asks for what comes after it. */
  get lastSeq(): number {
    return this.#held.get(this.jobId) ?? 0;
  }

  /**
   * Listens on `socket` and joins now (or once connected, and again after every reconnect).
   * Returns the detach, which also leaves the job; fits an $effect's cleanup.
   */
  attach(socket: JobsSocket | null): () => void {
    this.#detach?.();
    if (!socket) return () => {};
    const mine = (id: string) => id.toLowerCase() === this.jobId;
    const subs = new Disposables();
    const on = <E extends keyof ServerToClientEvents>(event: E, fn: ServerToClientEvents[E]) =>
      subs.listen(socket, event, fn);
    if (this.merged) {
      on('group:log', (e) => mine(e.jobId) && this.#receive(e.source.toLowerCase(), e));
      on('group:bytes', (e) => mine(e.jobId) && this.#receive(e.source.toLowerCase(), asText(e)));
      on('group:done', (d) => mine(d.jobId) && this.#finish(d));
      on('group:resync', (r) => mine(r.jobId) && this.#join());
    } else {
      on('job:log', (e) => mine(e.jobId) && this.#receive(this.jobId, e));
      on('job:bytes', (e) => mine(e.jobId) && this.#receive(this.jobId, asText(e)));
      on('job:done', (d) => mine(d.jobId) && this.#finish(d));
      on('job:resync', (r) => mine(r.jobId) && this.#join());
    }
    on('jobs:changed', ({ job }) => this.#changed(job));
    subs.listen(socket, 'connect', () => this.#join());
    this.#socket = socket;
    this.#join();

    const detach = () => {
      subs.dispose();
      clearTimeout(this.#retry);
      if (socket.connected)
        socket.emit(this.merged ? 'leave-group' : 'leave-job', { jobId: this.jobId }, () => {});
      if (this.#socket === socket) this.#socket = null;
      if (this.#detach === detach) this.#detach = null;
    };
    this.#detach = detach;
    return detach;
  }

  /** Leaves the job, stops listening and delivers what is still pending. */
  dispose(): void {
    this.#detach?.();
    this.#flush();
  }

  #request(send: (socket: JobsSocket, ack: (res: Ack) => void) => void): Promise<Ack> {
    const socket = this.#socket;
    if (!socket?.connected) {
      const error = { code: 'DB_UNAVAILABLE' as const, message: 'not connected to the server' };
      return Promise.resolve({ ok: false, error });
    }
    return new Promise((resolve) => send(socket, resolve));
  }

  #join(): void {
    clearTimeout(this.#retry);
    const socket = this.#socket;
    if (!socket?.connected) return; // the `connect` listener joins later
    const attempt = ++this.#joins;
    this.#joining = true;
    const answer = (res: Ack<{ job: Job; children?: Job[] }>) => {
      if (attempt !== this.#joins) return; // a later join superseded this one
      this.#joining = false;
      if (!res.ok) {
        this.error = res.error.message;
        // The database is out for a moment (SPEC: "try again shortly"): ask again, less often
        // each time, while this page still shows the job.
        if (res.error.code === 'DB_UNAVAILABLE' && this.#socket === socket) {
          this.#retry = setTimeout(() => this.#join(), this.#retryMs);
          this.#retryMs = Math.min(this.#retryMs * 2, JOIN_RETRY_MAX_MS);
        }
        return;
      }
      this.#retryMs = JOIN_RETRY_FIRST_MS;
      this.error = null;
      this.job = res.job;
      // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping, see above
      if (this.merged) this.#joined = new Set((res.children ?? []).map((c) => c.id));
      for (const child of res.children ?? []) this.#changed(child);
      if (this.merged) this.#joinNewChildren();
    };
    if (this.merged) {
      for (const c of this.children) this.#asked.add(c.id);
      socket.emit(
        'join-group',
        { jobId: this.jobId, after: Object.fromEntries(this.#held) },
        answer,
      );
    } else socket.emit('join-job', { jobId: this.jobId, afterSeq: this.lastSeq }, answer);
  }

  /** Merged: joins again when a child came up that the last join did not follow. */
  #joinNewChildren(): void {
    const known = (id: string) => this.#joined.has(id) || this.#asked.has(id);
    if (this.children.some((c) => !known(c.id))) this.#join();
  }

  #receive(source: string, e: JobLog): void {
    const held = this.#held.get(source) ?? 0;
    if (e.seq <= held) return; // a replay overlapping what we hold
    if (e.seq !== held + 1) {
      // A gap the server promises never to leave; ask again from what we hold rather than guess.
      if (!this.#joining) this.#join();
      return;
    }
    this.#held.set(source, e.seq);
    const event: SinkEvent = { seq: e.seq, stream: e.stream, chunk: e.chunk, ts: e.ts };
    if (this.merged) event.source = source;
    this.#pending.push(event);
    this.#schedule();
  }

  #finish(d: JobDone): void {
    this.#flush();
    this.done = d;
    this.job = { ...this.job, status: d.status, exitCode: d.exitCode, signal: d.signal };
  }

  #changed(job: Job): void {
    if (job.id === this.jobId) {
      // A late `running` must not undo the final status that job:done already gave us.
      if (!this.done) this.job = job;
      else this.job = { ...job, status: this.done.status };
    } else if (job.parentId === this.jobId) {
      const i = this.children.findIndex((c) => c.id === job.id);
      if (i === -1) {
        this.children = [...this.children, job];
        // Merged: a child the join did not know of yet (the group was still adding them).
        if (this.merged && !this.#joining) this.#joinNewChildren();
      }
      // News can come out of order (the join's snapshot after a change it predates): a child
      // never goes back from ended to running, or from running to queued.
      else if (stage(job.status) >= stage(this.children[i]!.status))
        this.children = this.children.with(i, job);
    }
  }

  #schedule(): void {
    if (this.#frame || this.#timer) return;
    if (typeof requestAnimationFrame === 'function') {
      this.#frame = requestAnimationFrame(() => this.#flush());
    }
    this.#timer = setTimeout(() => this.#flush(), FLUSH_FALLBACK_MS);
  }

  #flush(): void {
    if (this.#frame) cancelAnimationFrame(this.#frame);
    clearTimeout(this.#timer);
    this.#frame = 0;
    this.#timer = undefined;
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    this.sink.append(batch);
  }
}
