// A benchmark's follower of jobs over the /jobs namespace, as the web client follows them (binary
// mode unless BENCH_TEXT=1), and what it saw of each job: every seq once and in order, or counted.
import { createHash } from 'node:crypto';
import { io } from 'socket.io-client';
import { nowMs } from './lib.js';

/**
 * What one follower saw of one job. Events are applied only in seq order from 1; anything else is
 * counted: `duplicates` (a seq already held), `reordered` (a seq later than the next one expected,
 * i.e. a gap; it is applied all the same so the text check shows it), and after the end `lost`
 * (seqs up to the job's last seq never received).
 */
class Tracker {
  constructor(jobId, { keepText = false, onEvent } = {}) {
    this.jobId = jobId;
    this.keepText = keepText;
    this.onEvent = onEvent;
    this.lastSeq = 0; // highest seq applied
    this.seen = new Set();
    this.events = 0;
    this.duplicates = 0;
    this.reordered = 0;
    this.resyncs = 0;
    this.rejoins = 0;
    this.streamBytes = { stdout: 0, stderr: 0, system: 0, pty: 0 };
    this.stdoutHash = createHash('sha256');
    this.stdoutParts = keepText ? [] : null;
    this.system = [];
    this.done = null;
    this.error = null;
    this.firstStdoutAt = null;
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  onLog(e, receivedAt) {
    if (this.seen.has(e.seq)) {
      this.duplicates++;
      return;
    }
    if (e.seq !== this.lastSeq + 1) this.reordered++;
    this.seen.add(e.seq);
    this.lastSeq = Math.max(this.lastSeq, e.seq);
    this.events++;
    const size = e.data?.length ?? Buffer.byteLength(e.chunk);
    this.streamBytes[e.stream] = (this.streamBytes[e.stream] ?? 0) + size;
    if (e.stream === 'stdout') {
      this.firstStdoutAt ??= receivedAt;
      this.stdoutHash.update(e.data ?? e.chunk);
      this.stdoutParts?.push(e.chunk);
    } else if (e.stream === 'system') this.system.push(e.chunk);
    this.onEvent?.(e, receivedAt);
  }

  /** The highest seq held with every one before it: where a rejoin starts from. */
  get contiguous() {
    let s = 0;
    while (this.seen.has(s + 1)) s++;
    return s;
  }

  get stdout() {
    return this.stdoutParts?.join('') ?? null;
  }

  /** Seqs from 1 to `lastSeq` (the job's, from the server) that never arrived. */
  lostUpTo(lastSeq) {
    let lost = 0;
    for (let s = 1; s <= lastSeq; s++) if (!this.seen.has(s)) lost++;
    return lost;
  }
}

/** Whether followers ask for binary mode, as the web client does (BENCH_TEXT=1: text events). */
export const BINARY = process.env.BENCH_TEXT !== '1';
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * One socket on `/jobs` following any number of jobs. `follow(jobId)` joins and resolves with the
 * Tracker at `job:done`; a `job:resync` rejoins from what is held, as does a reconnect. In binary
 * mode each event's bytes are decoded here, as the web client does, and hashed as they came.
 */
export class JobsClient {
  constructor(server) {
    this.server = server;
    this.trackers = new Map();
    this.reconnects = 0;
    this.socket = io(server.url + '/jobs', {
      transports: ['websocket'],
      extraHeaders: { cookie: server.cookie, origin: server.url },
      auth: { binary: BINARY },
      reconnectionDelay: 200,
    });
    this.socket.on('job:log', (e) => {
      const at = nowMs();
      this.trackers.get(e.jobId)?.onLog(e, at);
    });
    this.socket.on('job:bytes', (e) => {
      const at = nowMs();
      this.trackers.get(e.jobId)?.onLog({ ...e, chunk: decoder.decode(e.data) }, at);
    });
    this.socket.on('job:done', (d) => {
      const t = this.trackers.get(d.jobId);
      if (!t || t.done) return;
      t.done = d;
      t.resolve(t);
    });
    this.socket.on('job:resync', ({ jobId }) => {
      const t = this.trackers.get(jobId);
      if (!t || t.done) return;
      t.resyncs++;
      this.join(t);
    });
    this.socket.on('job:error', ({ jobId, error }) => {
      const t = this.trackers.get(jobId);
      if (t) t.error = error; // a job:resync follows it
    });
  }

  /** Resolves on the server's `hello` (sent first on every connection). */
  connect() {
    let first = true;
    return new Promise((resolve, reject) => {
      this.socket.on('hello', () => {
        if (first) {
          first = false;
          resolve(this);
          return;
        }
        // A reconnect: rejoin every unfinished job from what it holds.
        this.reconnects++;
        for (const t of this.trackers.values()) if (!t.done) this.join(t);
      });
      this.socket.once('connect_error', (err) => first && reject(err));
    });
  }

  follow(jobId, opts) {
    const t = new Tracker(jobId, opts);
    this.trackers.set(jobId, t);
    this.join(t);
    return t;
  }

  join(t) {
    const afterSeq = t.contiguous;
    if (t.rejoins++ > 0) {
      // Anything past a gap is dropped so the replay can fill it in order.
      for (const s of t.seen) if (s > afterSeq) t.seen.delete(s);
      t.lastSeq = afterSeq;
    }
    this.socket.emit('join-job', { jobId: t.jobId, afterSeq }, (ack) => {
      if (!ack?.ok) t.reject(new Error(`join-job ${t.jobId}: ${JSON.stringify(ack?.error)}`));
    });
  }

  close() {
    this.socket.close();
  }
}
