// A terminal job's output for xterm: the pty bytes as they came, replayed to each new subscriber
// and then written live; system notes (exit code, cancel) are shown dimmed on lines of their own.
import type { JobEvent } from '@vmo/protocol';
import type { JobSink } from './job-stream.svelte.js';

export class PtyFeed implements JobSink {
  #written = '';
  #atLineStart = true;
  #listeners = new Set<(data: string) => void>();

  append(events: readonly JobEvent[]): void {
    let data = '';
    for (const e of events) {
      const text =
        e.stream === 'system'
          ? `${this.#atLineStart ? '' : '\r\n'}\x1b[2m[vmo] ${e.chunk.replace(/\r?\n/g, '\r\n')}\x1b[0m`
          : e.chunk;
      if (text) this.#atLineStart = text.endsWith('\n') || text.endsWith('\n\x1b[0m');
      data += text;
    }
    this.#written += data;
    for (const listener of this.#listeners) listener(data);
  }

  /** Replays everything so far into `onData`, then follows; returns the unsubscribe. */
  subscribe = (onData: (data: string) => void): (() => void) => {
    if (this.#written) onData(this.#written);
    this.#listeners.add(onData);
    return () => this.#listeners.delete(onData);
  };
}
