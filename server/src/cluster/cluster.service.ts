// Several instances on one database (cluster.enabled). Each registers itself with a heartbeat;
// jobs of an instance whose heartbeat stopped are taken over and marked interrupted. Job output
// never crosses between instances: the owner NOTIFYs "job J is committed up to seq N" (coalesced,
// a few dozen bytes per job) and a follower elsewhere reads the events from job_events. Job ends
// and cancels travel the same way; jobs:changed goes through Socket.io's postgres adapter.
import { hostname } from 'node:os';
import { JobStatus, User } from '@vmo/protocol';
import { z } from 'zod';
import { MAX_PAYLOAD_BYTES, type ClusterChannel } from '../db/cluster.channel.js';
import type { InstancesRepository } from '../db/instances.repository.js';
import type { BusRelay, Ended, JobBus } from '../jobs/job.bus.js';
import type { JobService, Peers } from '../jobs/job.service.js';
import type { Logger } from '../logger.js';

export const CLUSTER_CHANNEL = 'vmo_cluster';

const Done = z.object({
  jobId: z.string(),
  status: JobStatus,
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  lastSeq: z.number().int().nonnegative(),
});
const Cancel = z.object({
  to: z.string(),
  jobId: z.string(),
  user: User,
  source: z.string().nullable(),
});
/** One NOTIFY: from whom, committed seqs `[jobId, lastSeq]`, ended jobs, cancel requests. */
const Message = z.object({
  f: z.string(),
  e: z.array(z.tuple([z.string(), z.number().int().nonnegative()])).optional(),
  d: z.array(Done).optional(),
  k: z.array(Cancel).optional(),
});
type Message = z.infer<typeof Message>;
type Item = { e: [string, number] } | { d: Ended } | { k: z.infer<typeof Cancel> };

export interface ClusterOptions {
  instanceId: string;
  /** Seconds between heartbeats; an instance silent for 3 of them is considered gone. */
  heartbeatSeconds: number;
  channel: ClusterChannel;
  instances: InstancesRepository;
  bus: JobBus;
  log: Logger;
}

export class ClusterService implements BusRelay, Peers {
  private jobs: JobService | null = null;
  private readonly pending = new Map<string, number>();
  private ended: Ended[] = [];
  private flushing: Promise<void> | null = null;
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private tick: Promise<void> = Promise.resolve();

  constructor(private readonly o: ClusterOptions) {}

  get instanceId(): string {
    return this.o.instanceId;
  }

  /** Heartbeats older than this mean the instance is gone. */
  get staleSeconds(): number {
    return this.o.heartbeatSeconds * 3;
  }

  /** Registers, listens, relays this instance's publications, and takes over orphaned jobs. */
  async start(jobs: JobService): Promise<void> {
    this.jobs = jobs;
    await this.o.instances.register(this.o.instanceId, hostname(), process.pid);
    await this.o.channel.listen({
      message: (payload) => this.receive(payload),
      reconnected: () => this.o.bus.recheckAll(),
    });
    this.o.bus.setRelay(this);
    this.running = true;
    await this.beat();
    this.schedule();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.tick;
    await this.flush();
    this.o.bus.setRelay(null);
    await this.o.channel.close();
    await this.o.instances
      .remove(this.o.instanceId)
      .catch((err: unknown) =>
        this.o.log.warn({ err: (err as Error).message }, 'cluster: could not unregister'),
      );
  }

  // ---- BusRelay: this instance's own publications, coalesced per job ----

  committed(jobId: string, lastSeq: number): void {
    this.pending.set(jobId, Math.max(lastSeq, this.pending.get(jobId) ?? 0));
    this.scheduleFlush();
  }

  done(done: Ended): void {
    this.ended.push(done);
    this.scheduleFlush();
  }

  // ---- Peers ----

  async cancel(owner: string, jobId: string, user: User, source: string | null): Promise<void> {
    const { id, username, role, provider, createdAt } = user;
    await this.o.channel.notify(
      pack(this.o.instanceId, [
        { k: { to: owner, jobId, user: { id, username, role, provider, createdAt }, source } },
      ]),
    );
  }

  private scheduleFlush(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // Whatever the same commit (and the same tick) published goes out in one statement.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  /** Sends what is pending; one statement at a time, what comes meanwhile waits for the next. */
  private async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.size === 0 && this.ended.length === 0) return;
    const items: Item[] = [...this.pending].map(([jobId, seq]) => ({ e: [jobId, seq] }));
    for (const d of this.ended) items.push({ d });
    this.pending.clear();
    this.ended = [];
    this.flushing = this.o.channel.notify(pack(this.o.instanceId, items)).catch((err: unknown) => {
      // Followers elsewhere catch up with the next notification, or when they rejoin.
      this.o.log.warn({ err: (err as Error).message }, 'cluster: NOTIFY failed');
    });
    try {
      await this.flushing;
    } finally {
      this.flushing = null;
    }
  }

  private receive(payload: string): void {
    let msg: Message;
    try {
      msg = Message.parse(JSON.parse(payload));
    } catch {
      this.o.log.warn('cluster: ignored a malformed notification');
      return;
    }
    if (msg.f === this.o.instanceId) return;
    for (const [jobId, seq] of msg.e ?? []) this.o.bus.deliverCommitted(jobId, seq);
    for (const d of msg.d ?? []) this.o.bus.deliverDone(d);
    for (const k of msg.k ?? []) {
      if (k.to !== this.o.instanceId || !this.jobs) continue;
      this.jobs
        .cancel(k.jobId, k.user, k.source, true)
        .catch((err: unknown) =>
          this.o.log.info(
            { jobId: k.jobId, err: (err as Error).message },
            'cluster: a cancel sent by another instance did not apply',
          ),
        );
    }
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.tick = this.beat().finally(() => {
        if (this.running) this.schedule();
      });
    }, this.o.heartbeatSeconds * 1000);
    this.timer.unref();
  }

  /** Heartbeat, then take over the jobs of instances that stopped beating, then forget those. */
  private async beat(): Promise<void> {
    try {
      await this.o.instances.beat(this.o.instanceId, hostname(), process.pid);
      const taken = await this.jobs!.recoverOrphans(this.staleSeconds);
      if (taken)
        this.o.log.warn(
          { jobs: taken },
          'cluster: jobs of an instance that stopped are marked interrupted',
        );
      await this.o.instances.pruneStale(this.staleSeconds);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'cluster: heartbeat failed');
    }
  }
}

/** Splits the items into as few NOTIFY payloads as fit under Postgres' limit. */
export function pack(from: string, items: Item[]): string[] {
  const payloads: string[] = [];
  let msg: Message = { f: from };
  let size = Buffer.byteLength(JSON.stringify(msg)) + 16;
  for (const item of items) {
    const [key, value] = Object.entries(item)[0] as ['e' | 'd' | 'k', never];
    const bytes = Buffer.byteLength(JSON.stringify(value)) + 8;
    if (size + bytes > MAX_PAYLOAD_BYTES && (msg.e || msg.d || msg.k)) {
      payloads.push(JSON.stringify(msg));
      msg = { f: from };
      size = Buffer.byteLength(JSON.stringify(msg)) + 16;
    }
    (msg[key] ??= []).push(value);
    size += bytes;
  }
  if (msg.e || msg.d || msg.k) payloads.push(JSON.stringify(msg));
  return payloads;
}
