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
  let newlines = 0;
  for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) newlines++;
  return advanceLinesBy(state, stream, newlines, chunk.charCodeAt(chunk.length - 1) !== 10);
}

/**
 * The state after `stream` wrote non-empty output holding `newlines` line feeds and ending
 * without one when `endsOpen` (what advanceLines counts, for callers that count on bytes).
 */
export function advanceLinesBy(
  state: LineState,
  stream: Stream,
  newlines: number,
  endsOpen: boolean,
): LineState {
  const bit = STREAM_BIT[stream];
  const wasOpen = (state.open & bit) !== 0;
  return {
    lines: state.lines + newlines + (endsOpen ? 1 : 0) - (wasOpen ? 1 : 0),
    open: endsOpen ? state.open | bit : state.open & ~bit,
  };
}
