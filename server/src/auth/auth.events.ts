// Changes to who may do what, announced in-process so open sockets follow them at once.
export type AuthChange =
  /** The user's role, state or password changed; `ended`: their sessions were ended. */
  | { kind: 'user'; userId: string; ended: boolean }
  | { kind: 'token'; tokenId: string }
  | { kind: 'session'; sid: string };

export class AuthEvents {
  private readonly listeners = new Set<(change: AuthChange) => void>();

  on(fn: (change: AuthChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(change: AuthChange): void {
    for (const fn of this.listeners) fn(change);
  }
}
