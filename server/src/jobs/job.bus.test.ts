import type { JobRecord } from '@vmo/protocol';
import { Disposables } from '@vmo/protocol';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { JobBus, type BusRelay, type Ended } from './job.bus.js';

const done = (jobId: string): Ended => ({
  jobId,
  status: 'success',
  exitCode: 0,
  signal: null,
  lastSeq: 3,
});

describe('JobBus', () => {
  it("delivers one job's events, end, trouble and commits to its follower, and nothing after the unfollow", () => {
    const bus = new JobBus();
    const heard: string[] = [];
    const unfollow = bus.follow('a', {
      events: (e) => heard.push(`events ${e.map((x) => x.seq).join(',')}`),
      done: (d) => heard.push(`done ${d.status}`),
      error: (e) => heard.push(`error ${e.code}`),
      committed: (seq) => heard.push(`committed ${seq}`),
    });
    bus.publishEvents('a', [{ seq: 1, stream: 'stdout', chunk: 'x', ts: 0 }]);
    bus.publishEvents('b', [{ seq: 9, stream: 'stdout', chunk: 'y', ts: 0 }]);
    bus.publishError('a', { code: 'DB_UNAVAILABLE', message: 'down' });
    bus.deliverCommitted('a', 2);
    bus.recheckAll();
    bus.publishDone(done('a'));
    bus.deliverDone(done('b'));
    expect(heard).toEqual([
      'events 1',
      'error DB_UNAVAILABLE',
      'committed 2',
      'committed Infinity',
      'done success',
    ]);
    unfollow();
    unfollow(); // twice is harmless
    bus.publishEvents('a', [{ seq: 2, stream: 'stdout', chunk: 'z', ts: 0 }]);
    bus.recheckAll();
    bus.publishDone(done('a'));
    expect(heard).toHaveLength(5);
  });

  it('tells the relay what this instance committed and ended, never what others sent', () => {
    const bus = new JobBus();
    const relayed: string[] = [];
    const relay: BusRelay = {
      committed: (jobId, seq) => relayed.push(`${jobId}@${seq}`),
      done: (d) => relayed.push(`${d.jobId} done`),
    };
    bus.setRelay(relay);
    bus.publishEvents('a', []);
    bus.publishEvents('a', [{ seq: 4, stream: 'stderr', chunk: 'e', ts: 0 }]);
    bus.publishDone(done('a'));
    bus.deliverCommitted('b', 7);
    bus.deliverDone(done('b'));
    expect(relayed).toEqual(['a@4', 'a done']);
    const changed: string[] = [];
    const off = bus.onChanged((job) => changed.push(job.id));
    bus.publishChanged({ id: 'j' } as JobRecord);
    off();
    bus.publishChanged({ id: 'k' } as JobRecord);
    expect(changed).toEqual(['j']);
  });
});

describe('Disposables', () => {
  it('undoes every listener and cleanup once, in reverse order, and at once after disposal', () => {
    const emitter = new EventEmitter();
    const subs = new Disposables();
    const order: string[] = [];
    subs.listen(emitter, 'tick', (n: number) => order.push(`tick ${n}`));
    subs.add(() => order.push('cleanup 1'));
    subs.add(() => order.push('cleanup 2'));
    emitter.emit('tick', 1);
    expect(emitter.listenerCount('tick')).toBe(1);
    subs.dispose();
    subs.dispose();
    emitter.emit('tick', 2);
    expect(subs.disposed).toBe(true);
    expect(emitter.listenerCount('tick')).toBe(0);
    subs.add(() => order.push('late'));
    expect(order).toEqual(['tick 1', 'cleanup 2', 'cleanup 1', 'late']);
  });
});
