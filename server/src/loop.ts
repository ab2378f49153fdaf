// A background worker's loop (the notifications' dispatcher, the search indexer): a round of work
// at once when the last said more is waiting, else after `pollMs` or when nudged; stop waits for
// the round under way.
export class WorkLoop {
  private wake: (() => void) | null = null;

  constructor(
    /** One round; true when more is waiting right away. `stopped` tells a long round to end. */
    private readonly round: (stopped: () => boolean) => Promise<boolean>,
    private readonly pollMs: number,
  ) {}

  /** Something is waiting now: end the wait. */
  nudge(): void {
    this.wake?.();
  }

  start(): () => Promise<void> {
    let stopped = false;
    const isStopped = () => stopped;
    const loop = (async () => {
      while (!stopped) {
        if (await this.round(isStopped)) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.pollMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = null;
      }
    })();
    return async () => {
      stopped = true;
      this.wake?.();
      await loop;
    };
  }
}
