// In-process fan-out of committed job events and status changes to whoever follows them
// (sockets, tests). Publishing never waits for a listener. With cluster.enabled a relay also
// tells the other instances (a NOTIFY of the new seq); what they send back is delivered here.
import { EventEmitter } from 'node:events';
import { Disposables, type JobDone, type JobEvent, type JobRecord } from '@vmo/protocol';
import type { ErrorCode } from '@vmo/protocol';

export type Ended = JobDone & { lastSeq: number };
export type JobTrouble = { code: ErrorCode; message: string };

export interface JobListener {
  events(events: JobEvent[]): void;
  done(done: Ended): void;
  /** Trouble outside the job's own output, e.g. its storage failing. */
  error?(error: JobTrouble): void;
  /**
   * Events up to `lastSeq` are committed elsewhere (another instance runs the job): read them from
   * the database. Infinity: something may have been missed, look again.
   */
  committed?(lastSeq: number): void;
}

/** Where this instance's own publications go besides its listeners (the cluster bridge). */
export interface BusRelay {
  committed(jobId: string, lastSeq: number): void;
  done(done: Ended): void;
}

export class JobBus {
  private readonly emitter = new EventEmitter();
  private relay: BusRelay | null = null;

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  setRelay(relay: BusRelay | null): void {
    this.relay = relay;
  }

  publishEvents(jobId: string, events: JobEvent[]): void {
    this.emitter.emit(`events:${jobId}`, events);
    if (this.relay && events.length > 0) this.relay.committed(jobId, events.at(-1)!.seq);
  }

  publishDone(done: Ended): void {
    this.emitter.emit(`done:${done.jobId}`, done);
    this.relay?.done(done);
  }

  publishError(jobId: string, error: JobTrouble): void {
    this.emitter.emit(`error:${jobId}`, error);
  }

  publishChanged(job: JobRecord): void {
    this.emitter.emit('changed', job);
  }

  /** From another instance: events up to `lastSeq` of a job it runs are committed. Not relayed. */
  deliverCommitted(jobId: string, lastSeq: number): void {
    this.emitter.emit(`committed:${jobId}`, lastSeq);
  }

  /** From another instance: a job it ran has ended. Not relayed. */
  deliverDone(done: Ended): void {
    this.emitter.emit(`done:${done.jobId}`, done);
  }

  /** Notifications may have been lost (the listening connection dropped): every follower looks again. */
  recheckAll(): void {
    this.emitter.emit('recheck', Infinity);
  }

  /** Delivers the job's events, end, trouble and commits to `listener`; the returned function stops it. */
  follow(jobId: string, listener: JobListener): () => void {
    const subs = new Disposables();
    const on = <A extends unknown[]>(event: string, fn: (...args: A) => void) =>
      subs.listen(this.emitter, event, fn);
    on(`events:${jobId}`, (e: JobEvent[]) => listener.events(e));
    on(`done:${jobId}`, (d: Ended) => listener.done(d));
    on(`error:${jobId}`, (e: JobTrouble) => listener.error?.(e));
    const committed = (lastSeq: number) => listener.committed?.(lastSeq);
    on(`committed:${jobId}`, committed);
    on('recheck', committed);
    return () => subs.dispose();
  }

  onChanged(listener: (job: JobRecord) => void): () => void {
    this.emitter.on('changed', listener);
    return () => this.emitter.off('changed', listener);
  }
}
