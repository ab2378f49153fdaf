// The clock of the schedules: every instance ticks at each whole second (fire times are whole
// seconds), claims what is due that no other instance holds (schedules.repository's claimDue), and
// starts each claimed fire as its schedule's owner. Fires an instance claimed and then died on
// are taken by another after `staleSeconds`; fires waiting behind a schedule's last run are
// looked at again on every tick.
import type { ScheduleRow, FireRow, SchedulesRepository } from '../db/schedules.repository.js';
import type { Logger } from '../logger.js';
import type { SchedulesService } from './schedules.service.js';
import { planFires } from './timetable.js';

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
}

/** A little past the whole second, so a fire due then is due when the tick reads the clock. */
const TICK_OFFSET_MS = 5;

export class Scheduler {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private startedAt = new Date();
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

  /** One tick: claims what is due, takes what was left or waits, and fires it. Returns the fires handled. */
  async tick(): Promise<number> {
    const { schedules, instanceId } = this.deps;
    const now = this.now();
    const batch = this.deps.batch ?? 500;
    const fires: FireRow[] = [];
    for (;;) {
      const claimed = await schedules.claimDue(now, batch, instanceId, (s: ScheduleRow) =>
        planFires(s, now),
      );
      fires.push(...claimed.fires.filter((f) => f.outcome === 'claimed'));
      if (claimed.schedules < batch) break;
    }
    // Its own fires claimed before this start were left by a crash of a previous run.
    const stale = this.deps.staleSeconds ?? 15;
    fires.push(...(await schedules.takeOpen(stale, instanceId, batch, this.startedAt)));
    // Each fire on its own: one that fails (the database went away) stays claimed for later.
    await Promise.all(
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
    );
    return fires.length;
  }
}
