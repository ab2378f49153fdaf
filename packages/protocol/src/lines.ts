// How a job's output divides into lines, counted the way the log viewer draws them: each stream
// keeps its own unfinished line; a line starts with the first output (text, `\r` or `\n`) a stream
// writes while it has no unfinished line, and ends at `\n`. The server stores where every event
// leaves this count, so a viewer can open at the end of a long job and still number its lines.
import type { Stream } from './jobs.js';

/** One bit per stream in an open-streams mask. */
export const STREAM_BIT: Record<Stream, number> = { stdout: 1, stderr: 2, system: 4, pty: 8 };

/** The streams whose bit is set in `mask`. */
export function streamsIn(mask: number): Stream[] {
  return (Object.keys(STREAM_BIT) as Stream[]).filter((s) => (mask & STREAM_BIT[s]) !== 0);
}

export interface LineState {
  /** Lines started so far. */
  lines: number;
  /** Streams with an unfinished line (STREAM_BIT mask). */
  open: number;
}

/** The state after `stream` wrote `chunk`. */
export function advanceLines(state: LineState, stream: Stream, chunk: string): LineState {
  if (chunk === '') return state;
  const bit = STREAM_BIT[stream];
  let newlines = 0;
  for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) newlines++;
  const endsOpen = chunk.charCodeAt(chunk.length - 1) !== 10;
  const wasOpen = (state.open & bit) !== 0;
  return {
    lines: state.lines + newlines + (endsOpen ? 1 : 0) - (wasOpen ? 1 : 0),
    open: endsOpen ? state.open | bit : state.open & ~bit,
  };
}
