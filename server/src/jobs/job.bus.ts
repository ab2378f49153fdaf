// In-process fan-out of committed job events and status changes to whoever follows them
// (sockets, tests). Publishing never waits for a listener.
import { EventEmitter } from 'node:events';
import type { Job, JobEvent } from '@vmo/protocol';
import type { JobDone } from '@vmo/protocol';

export interface JobListener {
  events(events: JobEvent[]): void;
  done(done: JobDone & { lastSeq: number }): void;
  /** Trouble outside the job's own output, e.g. its storage failing. */
  error?(error: { code: string; message: string }): void;
}

export class JobBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publishEvents(jobId: string, events: JobEvent[]): void {
    this.emitter.emit(`events:${jobId}`, events);
  }

  publishDone(done: JobDone & { lastSeq: number }): void {
    this.emitter.emit(`done:${done.jobId}`, done);
  }

  publishError(jobId: string, error: { code: string; message: string }): void {
    this.emitter.emit(`error:${jobId}`, error);
  }

  publishChanged(job: Job): void {
    this.emitter.emit('changed', job);
  }

  follow(jobId: string, listener: JobListener): () => void {
    const onEvents = (e: JobEvent[]) => listener.events(e);
    const onDone = (d: JobDone & { lastSeq: number }) => listener.done(d);
    const onError = (e: { code: string; message: string }) => listener.error?.(e);
    this.emitter.on(`events:${jobId}`, onEvents);
    this.emitter.on(`done:${jobId}`, onDone);
    this.emitter.on(`error:${jobId}`, onError);
    return () => {
      this.emitter.off(`events:${jobId}`, onEvents);
      this.emitter.off(`done:${jobId}`, onDone);
      this.emitter.off(`error:${jobId}`, onError);
    };
  }

  onChanged(listener: (job: Job) => void): () => void {
    this.emitter.on('changed', listener);
    return () => this.emitter.off('changed', listener);
  }
}
