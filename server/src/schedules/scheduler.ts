// The clock of the schedules: every instance ticks at each whole second (fire times are whole
// seconds), claims what is due that no other instance holds (schedules.repository's claimDue), and
// starts each claimed fire as its schedule's owner. Fires an instance claimed and then died on
// are taken by another after `staleSeconds`; fires waiting behind a schedule's last run are
// looked at again on every tick.
import type { ScheduleRow, FireRow, SchedulesRepository } from '../db/schedules.repository.js';
import type { Logger } from '../logger.js';
import type { SchedulesService } from './schedules.service.js';
import { MISSED_AFTER_MS, planFires } from './timetable.js';

export interface SchedulerDeps {
  schedules: SchedulesRepository;
  service: Pick<SchedulesService, 'fire'>;
  instanceId: string;
  log: Logger;
  /** The clock (tests move it); Date.now by default. */
  now?: () => Date;
  /** A claimed fire untouched this long was left by a dead instance. */
  staleSeconds?: number;
  /** Schedules claimed per statement. */
  batch?: number;
  /** Fires started at once (16). */
  maxStarting?: number;
}

/** A little past the whole second, so a fire due then is due when the tick reads the clock. */
const TICK_OFFSET_MS = 5;
/** A scheduler whose last tick began longer ago than this was as good as down: fires due since were missed. */
const LAG_LIMIT_MS = 60_000;

export class Scheduler {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private startedAt = new Date();
  /** When the last tick that reached the database began. */
  private lastTick: Date | null = null;
  /** Fires being started: a tick does not wait for them, stop() does. */
  private readonly inflight = new Set<Promise<void>>();
  private starting = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly now: () => Date;

  constructor(private readonly deps: SchedulerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** Ticks until stopped; returns the stop. */
  start(): () => Promise<void> {
    this.stopped = false;
    this.startedAt = new Date();
    this.schedule();
    return () => this.stop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    await Promise.all(this.inflight);
  }

  private schedule(): void {
    if (this.stopped) return;
    const ms = 1000 - (Date.now() % 1000) + TICK_OFFSET_MS;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .then(() => undefined)
        .catch((err: unknown) =>
          this.deps.log.warn({ err: (err as Error).message }, 'schedules: a tick failed'),
        )
        .finally(() => {
          this.running = null;
          this.schedule();
        });
    }, ms);
    this.timer.unref?.();
  }

  /**
   * Runs `fn` when fewer than `maxStarting` fires are being started: a burst of fires waits here,
   * not in the database pool, so the next tick's claim gets a connection at once.
   */
  private async slot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.starting >= (this.deps.maxStarting ?? 16))
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.starting++;
    try {
      return await fn();
    } finally {
      this.starting--;
      this.waiting.shift()?.();
    }
  }

  /**
   * From when a due fire counts as on time: since the previous tick began (it came due while this
   * scheduler ran, however far it lags), unless that is long ago or this is the first tick (then
   * a few seconds: before that, no instance was running).
   */
  private onTimeAfter(now: Date): Date {
    const last = this.lastTick;
    if (last && now.getTime() - last.getTime() < LAG_LIMIT_MS)
      return new Date(last.getTime() - 1000);
    return new Date(now.getTime() - MISSED_AFTER_MS);
  }

  /**
   * One tick: claims what is due and takes what was left or waits, then starts those fires
   * without waiting for them (the next tick is on time however long starting jobs takes).
   * Returns the fires taken; `settled` resolves once they are started or skipped.
   */
  async tick(): Promise<{ taken: number; settled: Promise<void> }> {
    const { schedules, instanceId } = this.deps;
    const now = this.now();
    const onTimeAfter = this.onTimeAfter(now);
    const batch = this.deps.batch ?? 500;
    const fires: FireRow[] = [];
    for (;;) {
      const claimed = await schedules.claimDue(now, batch, instanceId, (s: ScheduleRow) =>
        planFires(s, now, onTimeAfter),
      );
      fires.push(...claimed.fires.filter((f) => f.outcome === 'claimed'));
      if (claimed.schedules < batch) break;
    }
    this.lastTick = now;
    // Its own fires claimed before this start were left by a crash of a previous run.
    const stale = this.deps.staleSeconds ?? 15;
    fires.push(...(await schedules.takeOpen(stale, instanceId, batch, this.startedAt)));
    // Each fire on its own: one that fails (the database went away) stays claimed for later.
    const settled = Promise.all(
      fires.map((f) =>
        this.deps.service
          .fire(f)
          .catch((err: unknown) =>
            this.deps.log.warn(
              { scheduleId: f.schedule_id, fireAt: f.fire_at, err: (err as Error).message },
              'schedules: a fire could not be started; it is tried again',
            ),
          ),
      ),
    ).then(() => undefined);
    this.inflight.add(settled);
    void settled.finally(() => this.inflight.delete(settled));
    return { taken: fires.length, settled };
  }
}
