// The lines of a job's output as a user sees them, for search (issue 25): each stream's line as
// the log viewer draws it (protocol lines.ts numbers them: a line starts with the first output a
// stream writes while it has no unfinished line, and ends at `\n`), a `\r` redraw as it ended up
// (the text written after the last `\r`, as the viewer replaces the line), escape codes gone,
// NUL bytes dropped (Postgres text cannot hold them). Completed lines come out in the order they
// end; an unfinished line is kept in the state, so a line split across events is found as one.
import { stripVTControlCharacters } from 'node:util';
import type { Stream } from '@vmo/protocol';

export interface OpenLine {
  /** Its line number (1-based, as `/jobs/:id#L<n>` has it). */
  no: number;
  /** What is written so far, escape codes still in (the viewer resolves `\r` before colours). */
  text: string;
  /** A `\r` came last: the next text replaces the line. */
  cr: boolean;
}

/** Where a job's lines stand between two batches (kept as JSON with the search progress). */
export interface LinesState {
  /** Lines started so far. */
  lines: number;
  open: Partial<Record<Stream, OpenLine>>;
}

export interface DoneLine {
  no: number;
  text: string;
}

export const freshLines = (): LinesState => ({ lines: 0, open: {} });

/** `piece` (no `\n` in it) written onto `line`: each `\r` followed by text starts the line over. */
function write(line: OpenLine, piece: string): void {
  for (let i = 0; i < piece.length;) {
    const j = piece.indexOf('\r', i);
    const end = j === -1 ? piece.length : j;
    if (end > i) {
      if (line.cr) {
        line.text = '';
        line.cr = false;
      }
      line.text += piece.slice(i, end);
    }
    if (j === -1) break;
    line.cr = true;
    i = j + 1;
  }
}

/** The text a user sees of a finished line. */
export function shown(raw: string): string {
  const text = raw.includes('\x1b') ? stripVTControlCharacters(raw) : raw;
  return text.includes('\0') ? text.replaceAll('\0', '') : text;
}

/** Feeds one event; the lines it ends are pushed to `done`. */
export function feedLines(
  state: LinesState,
  stream: Stream,
  chunk: string,
  done: DoneLine[],
): void {
  let i = 0;
  for (;;) {
    const nl = chunk.indexOf('\n', i);
    const end = nl === -1 ? chunk.length : nl;
    let open = state.open[stream];
    if (end > i || nl !== -1) {
      if (!open) {
        open = { no: ++state.lines, text: '', cr: false };
        state.open[stream] = open;
      }
      write(open, chunk.slice(i, end));
    }
    if (nl === -1) return;
    done.push({ no: open!.no, text: shown(open!.text) });
    delete state.open[stream];
    i = nl + 1;
  }
}

/** At the job's end: its unfinished lines are lines too, in the order they started. */
export function closeLines(state: LinesState, done: DoneLine[]): void {
  const open = Object.values(state.open).sort((a, b) => a.no - b.no);
  for (const line of open) done.push({ no: line.no, text: shown(line.text) });
  state.open = {};
}

/** A block of lines as stored: its body, and their numbers when not consecutive. */
export interface Block {
  firstLine: number;
  /** null: the lines are firstLine, firstLine + 1, … */
  lineNos: number[] | null;
  body: string;
}

/** Lines cut into blocks of about `maxChars` (a longer line is a block of its own). */
export function toBlocks(lines: readonly DoneLine[], maxChars = 64 * 1024): Block[] {
  const blocks: Block[] = [];
  let group: DoneLine[] = [];
  let size = 0;
  const flush = () => {
    if (group.length === 0) return;
    const first = group[0]!.no;
    const consecutive = group.every((l, k) => l.no === first + k);
    blocks.push({
      firstLine: first,
      lineNos: consecutive ? null : group.map((l) => l.no),
      body: group.map((l) => l.text).join('\n'),
    });
    group = [];
    size = 0;
  };
  for (const line of lines) {
    if (size > 0 && size + line.text.length > maxChars) flush();
    group.push(line);
    size += line.text.length + 1;
  }
  flush();
  return blocks;
}

/** The line numbers of a block's lines, in body order. */
export const numbersOf = (block: Pick<Block, 'firstLine' | 'lineNos'>, count: number): number[] =>
  block.lineNos ?? Array.from({ length: count }, (_, k) => block.firstLine + k);
