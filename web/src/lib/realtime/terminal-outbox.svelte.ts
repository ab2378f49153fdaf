// What a terminal job's owner sends: keystrokes and window sizes, one socket message at a time and
// in order. The server handles each message on its own, so two in flight may overtake each other
// (a resize after the Enter it should precede, "adna" for "dana"); typing during a send is batched.
import type { Ack } from '@vmo/protocol';

export type TerminalOp =
  { kind: 'input'; data: string } | { kind: 'resize'; cols: number; rows: number };

/** The protocol's cap on one terminal:input. */
const MAX_INPUT = 65_536;

export class TerminalOutbox {
  /** Why the last message was refused; cleared by the next one that goes through. */
  error = $state<string | null>(null);

  #queue: TerminalOp[] = [];
  #sending = false;
  readonly #send: (op: TerminalOp) => Promise<Ack>;

  constructor(send: (op: TerminalOp) => Promise<Ack>) {
    this.#send = send;
  }

  input(data: string): void {
    for (let i = 0; i < data.length; i += MAX_INPUT) {
      const part = data.slice(i, i + MAX_INPUT);
      const last = this.#queue.at(-1);
      if (last?.kind === 'input' && last.data.length + part.length <= MAX_INPUT) last.data += part;
      else this.#queue.push({ kind: 'input', data: part });
    }
    void this.#drain();
  }

  /** Only the latest size matters: a resize waiting behind another replaces it. */
  resize(cols: number, rows: number): void {
    const last = this.#queue.at(-1);
    if (last?.kind === 'resize') Object.assign(last, { cols, rows });
    else this.#queue.push({ kind: 'resize', cols, rows });
    void this.#drain();
  }

  async #drain(): Promise<void> {
    if (this.#sending) return;
    this.#sending = true;
    try {
      for (let op = this.#queue.shift(); op; op = this.#queue.shift()) {
        const res = await this.#send(op);
        this.error = res.ok ? null : res.error.message;
      }
    } finally {
      this.#sending = false;
    }
  }
}
