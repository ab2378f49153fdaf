// In-process fan-out of committed job events and status changes to whoever follows them
// (sockets, tests). Publishing never waits for a listener.
import { EventEmitter } from 'node:events';
import type { Job, JobEvent } from '@vmo/protocol';
import type { JobDone } from '@vmo/protocol';

export interface JobListener {
  events(events: JobEvent[]): void;
  done(done: JobDone & { lastSeq: number }): void;
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

  publishChanged(job: Job): void {
    this.emitter.emit('changed', job);
  }

  follow(jobId: string, listener: JobListener): () => void {
    const onEvents = (e: JobEvent[]) => listener.events(e);
    const onDone = (d: JobDone & { lastSeq: number }) => listener.done(d);
    this.emitter.on(`events:${jobId}`, onEvents);
    this.emitter.on(`done:${jobId}`, onDone);
    return () => {
      this.emitter.off(`events:${jobId}`, onEvents);
      this.emitter.off(`done:${jobId}`, onDone);
    };
  }

  onChanged(listener: (job: Job) => void): () => void {
    this.emitter.on('changed', listener);
    return () => this.emitter.off('changed', listener);
  }
}
