// A named state with the transitions it allows, written down in one table; a move the table does
// not allow throws, so a state a job's pipeline or a follower can never be in is never reached
// quietly. After graphile-worker's LocalQueue, which names its modes the same way.

export type Transitions<S extends string> = { readonly [From in S]: readonly S[] };

export class StateMachine<S extends string> {
  #state: S;

  constructor(
    private readonly name: string,
    initial: S,
    private readonly transitions: Transitions<S>,
  ) {
    this.#state = initial;
  }

  get state(): S {
    return this.#state;
  }

  is(...states: S[]): boolean {
    return states.includes(this.#state);
  }

  /** Moves to `next`; staying where it is is always allowed. */
  to(next: S): void {
    if (next === this.#state) return;
    if (!this.transitions[this.#state].includes(next))
      throw new Error(`${this.name}: no way from ${this.#state} to ${next}`);
    this.#state = next;
  }

  /** Moves to `next` when the table allows it from here; says whether it did. */
  tryTo(next: S): boolean {
    if (next !== this.#state && !this.transitions[this.#state].includes(next)) return false;
    this.#state = next;
    return true;
  }
}
