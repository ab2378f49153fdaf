// Subscriptions that end with one call: each listener added with `listen` (or any cleanup with
// `add`) is undone by `dispose()`, in reverse order, once. Shared by the server's job bus and the
// web's job stream, which both listen to several events of one emitter for one job.

/** What `listen` needs of an emitter: Node's EventEmitter and socket.io's sockets both have it. */
export interface Listenable<E extends string = string> {
  // `never`: any listener type fits; `listen` keeps the listener's own type for its callers.
  on(event: E, listener: never): unknown;
  off(event: E, listener: never): unknown;
}

export class Disposables {
  #cleanups: (() => void)[] = [];
  #disposed = false;

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Runs `cleanup` on dispose (at once when already disposed). */
  add(cleanup: () => void): void {
    if (this.#disposed) cleanup();
    else this.#cleanups.push(cleanup);
  }

  /** `emitter.on(event, listener)` now, `emitter.off(event, listener)` on dispose. */
  listen<E extends string, A extends unknown[]>(
    emitter: Listenable<NoInfer<E>>,
    event: E,
    listener: (...args: A) => void,
  ): void {
    const fn = listener as never;
    emitter.on(event, fn);
    this.add(() => emitter.off(event, fn));
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const cleanup of this.#cleanups.splice(0).reverse()) cleanup();
  }
}
