import { describe, expect, it } from 'vitest';
import type { JobEvent } from '@vmo/protocol';
import { EventWriter, type EventBatch } from './event-writer.js';

const ev = (seq: number): JobEvent => ({ seq, stream: 'stdout', chunk: `e${seq}`, ts: 0 });

class FakeStore {
  calls: EventBatch[][] = [];
  inflight = 0;
  most = 0;
  gate: Promise<void> = Promise.resolve();
  fail: ((b: EventBatch[]) => Error | null) | null = null;
  already = new Set<string>();
  stored(b: EventBatch): Promise<boolean> {
    return Promise.resolve(this.already.has(b.jobId));
  }
  async appendMany(batches: EventBatch[]): Promise<void> {
    this.calls.push(batches);
    this.most = Math.max(this.most, ++this.inflight);
    try {
      await this.gate;
      const err = this.fail?.(batches);
      if (err instanceof Error) throw err;
    } finally {
      this.inflight--;
    }
  }
}

describe(EventWriter.name, () => {
  it('commits what several jobs have ready in one statement, at most maxInflight at once', async () => {
    const store = new FakeStore();
    let open!: () => void;
    store.gate = new Promise((r) => (open = r));
    const writer = new EventWriter(store, { maxInflight: 1 });
    const first = writer.append('a', [ev(1)], 2);
    const rest = ['b', 'c', 'd'].map((j) => writer.append(j, [ev(1), ev(2)], 4));
    expect(store.calls).toHaveLength(1); // b, c, d wait for the first statement
    open();
    await Promise.all([first, ...rest]);
    expect(store.calls.map((c) => c.map((b) => b.jobId))).toEqual([['a'], ['b', 'c', 'd']]);
    expect(store.most).toBe(1);
  });

  it('splits statements past maxEventsPerStatement', async () => {
    const store = new FakeStore();
    let open!: () => void;
    store.gate = new Promise((r) => (open = r));
    const writer = new EventWriter(store, { maxInflight: 1, maxEventsPerStatement: 3 });
    const all = [
      writer.append('x', [ev(1)], 1),
      ...['a', 'b', 'c'].map((j) => writer.append(j, [ev(1), ev(2)], 1)),
    ];
    open();
    await Promise.all(all);
    expect(store.calls.map((c) => c.map((b) => b.jobId))).toEqual([['x'], ['a'], ['b'], ['c']]);
  });

  it('rejects every batch of a statement the database did not take (each pipeline retries its own)', async () => {
    const store = new FakeStore();
    store.fail = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const writer = new EventWriter(store, { maxInflight: 1 });
    const results = await Promise.allSettled([
      writer.append('a', [ev(1)], 1),
      writer.append('b', [ev(1)], 1),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('keeps one job’s bad batch from holding back the others', async () => {
    const store = new FakeStore();
    let open!: () => void;
    store.gate = new Promise((r) => (open = r));
    store.fail = (b) =>
      b.some((x) => x.jobId === 'bad') ? new Error('violates foreign key') : null;
    const writer = new EventWriter(store, { maxInflight: 1 });
    const first = writer.append('warmup', [ev(1)], 1);
    const good = writer.append('good', [ev(1)], 1);
    const bad = writer.append('bad', [ev(1)], 1);
    open();
    await first;
    await expect(good).resolves.toBeUndefined();
    await expect(bad).rejects.toThrow('violates foreign key');
  });

  it('takes a duplicate of rows already stored for success (a commit whose reply was lost), and no other', async () => {
    const store = new FakeStore();
    const dup = () =>
      Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
    store.fail = dup;
    store.already.add('committed');
    const writer = new EventWriter(store, { maxInflight: 1 });
    await expect(writer.append('committed', [ev(1)], 1)).resolves.toBeUndefined();
    await expect(writer.append('other', [ev(1)], 1)).rejects.toThrow('duplicate key');
  });
});
