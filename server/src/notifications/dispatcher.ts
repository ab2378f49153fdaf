// Sends the outbox (issue 24): due deliveries are claimed with a lease (FOR UPDATE SKIP LOCKED,
// so with several instances each is sent by one), sent, and marked sent; a failure is retried
// with exponential backoff and jitter until the delivery's give-up time (a day). An instance that
// dies mid-send leaves its lease to run out; another then sends again with the same idempotency
// key (`X-Vmo-Delivery`, the mail's Message-ID), so a receiver can drop the repeat.
import type { Job } from '@vmo/protocol';
import type { Access } from '../auth/permissions.js';
import type { JobEventsRepository } from '../db/job-events.repository.js';
import { toJob, type JobsRepository } from '../db/jobs.repository.js';
import type { DeliveryRow, NotificationsRepository } from '../db/notifications.repository.js';
import type { UsersRepository } from '../db/users.repository.js';
import type { Logger } from '../logger.js';
import { WorkLoop } from '../loop.js';
import { lastLines, type JobEnd } from './message.js';
import { send, type ChannelSecrets } from './senders.js';

export interface DispatcherOptions {
  /** How often the outbox is looked at when nothing nudges it. */
  pollMs: number;
  /** The first retry's delay; each next one doubles, up to maxRetryMs. */
  firstRetryMs: number;
  maxRetryMs: number;
  /** How long one send may take. */
  timeoutMs: number;
  /** Deliveries sent at once by one instance. */
  concurrency: number;
  from: string | null;
  publicUrl: string | null;
}

export interface DispatcherDeps {
  repo: NotificationsRepository;
  jobRows: JobsRepository;
  events: JobEventsRepository;
  users: UsersRepository;
  access: Access;
  instanceId: string;
  log: Logger;
  options: DispatcherOptions;
}

/** The wait before retry `attempt` (1 = after the first failure): doubling, capped, jittered ±25 %. */
export function retryDelay(
  attempt: number,
  firstMs: number,
  maxMs: number,
  random = Math.random,
): number {
  const base = Math.min(maxMs, firstMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.75 + random() / 2));
}

/** The last lines are read from at most this much of the job's stored output. */
const TAIL_BYTES = 64 * 1024;

export class Dispatcher {
  private failing = false;
  private readonly loop: WorkLoop;

  constructor(private readonly deps: DispatcherDeps) {
    this.loop = new WorkLoop(async () => (await this.runOnce()) > 0, deps.options.pollMs);
  }

  /** Something may be due now (a job of this instance ended). */
  nudge(): void {
    this.loop.nudge();
  }

  /** Sends until stopped; the returned stop waits for the sends under way. */
  start(): () => Promise<void> {
    return this.loop.start();
  }

  /** One round: claims what is due and sends it. Returns how many were claimed. */
  async runOnce(): Promise<number> {
    const { options, repo, instanceId, log } = this.deps;
    let due: DeliveryRow[];
    try {
      // The lease outlasts a send (an SMTP send may wait for connect, greeting and reply).
      due = await repo.claim(instanceId, options.concurrency, options.timeoutMs * 4 + 5_000);
      this.failing = false;
    } catch (err) {
      // Once per outage, not once per poll.
      if (!this.failing)
        log.warn({ err: (err as Error).message }, 'notifications: outbox unreadable');
      this.failing = true;
      return 0;
    }
    await Promise.all(due.map((row) => this.deliver(row)));
    return due.length;
  }

  /** The message as a test would see it, sent to one channel now: no outbox, no retry. */
  async sendNow(channel: ChannelSecrets, end: JobEnd): Promise<void> {
    await send(channel, end, this.sendOptions());
  }

  private sendOptions() {
    return { timeoutMs: this.deps.options.timeoutMs, from: this.deps.options.from };
  }

  private async deliver(row: DeliveryRow): Promise<void> {
    const { repo, instanceId, log, options } = this.deps;
    const about = {
      deliveryId: row.id,
      channel: row.channel_name,
      jobId: row.job_id,
      event: row.event,
    };
    try {
      const channel = await repo.channel(row.channel_id);
      const end = await this.jobEnd(row);
      if (!channel || !end) throw new Error('its channel or job is gone');
      await send(channel, end, this.sendOptions());
      if (await repo.sent(row.id, instanceId)) log.info(about, 'notification sent');
    } catch (err) {
      const error = (err as Error).message;
      const wait = retryDelay(row.attempts, options.firstRetryMs, options.maxRetryMs);
      log.warn(
        { ...about, attempt: row.attempts, error, retryInMs: wait },
        'notification not sent',
      );
      await repo.failed(row.id, instanceId, error, wait).catch(() => {
        // The lease runs out and the delivery is taken again: nothing is lost.
      });
    }
  }

  /** The job as the rule's owner sees it, with its last lines if they may read its output. */
  private async jobEnd(row: DeliveryRow): Promise<JobEnd | null> {
    const jobRow = await this.deps.jobRows.get(row.job_id);
    if (!jobRow) return null;
    const owner = row.owner_id ? await this.deps.users.findById(row.owner_id) : undefined;
    // A rule deleted since: the job as anyone signed in would see it.
    const job: Job = this.deps.access.present(toJob(jobRow), owner ?? { id: '', role: 'viewer' });
    let lines: string[] = [];
    if (job.can.readOutput && job.lastSeq > 0) {
      const { events } = await this.deps.events.before(job.id, job.lastSeq + 1, 1000, TAIL_BYTES);
      lines = lastLines(events);
    }
    const { publicUrl } = this.deps.options;
    const url = publicUrl ? new URL(`/jobs/${job.id}`, publicUrl).toString() : null;
    return { id: row.id, event: row.event, job, lines, url };
  }
}
