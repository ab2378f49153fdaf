// Job output as styled text segments. Output is untrusted (SPEC §4): anser reads the SGR colour
// codes, and its entries become {text, classes, style, href} that the viewer renders as text nodes
// inside spans. Nothing here produces HTML; links are kept only when they are http(s).
/* eslint-disable no-control-regex -- escape sequences are exactly what this module reads */
import Anser from 'anser';
import { isMatcher, makeMatcher, type Matcher } from './matcher.js';

/** anser's running colour state, carried from the end of one line into the next. */
export interface SgrState {
  fg: string | null;
  bg: string | null;
  fg_truecolor: string | null;
  bg_truecolor: string | null;
  decorations: string[];
}

export interface Segment {
  text: string;
  /** ansi-<colour>-fg/-bg and ansi-<decoration> classes (see ansi.css). */
  classes: string;
  /** Only `color`/`background-color: rgb(…)` built from numbers, for 256-colour and truecolor. */
  style: string;
  /** An http(s) URL, from an OSC 8 hyperlink or a URL in the text. */
  href: string | null;
  /** Part of a search match. */
  mark: boolean;
}

const OPTIONS = { json: true, use_classes: true, remove_empty: true } as const;
/** OSC (ESC ] … BEL or ESC \), possibly cut off at the end of the line. */
const OSC = /\x1b\]([^\x07\x1b]*)(?:\x07|\x1b\\|(?=\x1b)|$)/g;
/** What anser would mishandle: CSI sequences other than SGR, two-byte escapes, C0 controls. */
const NOT_SGR =
  /\x1b\[[0-?]*[ -/]*[@-ln-~]|\x1b(?![[\]])[ -/]*[0-~]?|[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f]/g;
const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"'`]+[^\s<>"'`.,;:!?)\]}]/g;
/**
 * SGR 10 ("default font") changes nothing anser tracks. Put first, it makes anser style the text
 * before the line's first code with the state carried in (it would leave that text plain).
 */
const KEEP_STATE = '\x1b[10m';

/** The href to use for `url`, or null unless it is a well-formed http(s) URL. */
export function safeHref(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}

interface Piece {
  text: string;
  href: string | null;
}

/** Splits out OSC sequences: OSC 8 opens or closes a link, every other OSC is dropped. */
function splitOsc(line: string): Piece[] {
  if (!line.includes('\x1b]')) return [{ text: line, href: null }];
  const pieces: Piece[] = [];
  let href: string | null = null;
  let last = 0;
  for (const m of line.matchAll(OSC)) {
    pieces.push({ text: line.slice(last, m.index), href });
    last = m.index + m[0].length;
    const body = m[1] ?? '';
    if (body.startsWith('8;')) href = safeHref(body.slice(body.indexOf(';', 2) + 1));
  }
  pieces.push({ text: line.slice(last), href });
  return pieces;
}

function newAnser(carry: SgrState | null): Anser {
  const anser = new Anser();
  if (carry) Object.assign(anser, { ...carry, decorations: [...carry.decorations] });
  return anser;
}

/** The colour state after `text`, starting from `carry`; null when it is back to the default. */
export function carryAfter(text: string, carry: SgrState | null): SgrState | null {
  if (!text.includes('\x1b[')) return carry;
  const anser = newAnser(carry);
  anser.process(text.replace(OSC, '').replace(NOT_SGR, ''), OPTIONS, true);
  const s = anser as unknown as SgrState;
  if (s.fg === null && s.bg === null && s.decorations.length === 0) return null;
  return {
    fg: s.fg,
    bg: s.bg,
    fg_truecolor: s.fg_truecolor,
    bg_truecolor: s.bg_truecolor,
    decorations: [...s.decorations],
  };
}

/** The text of a line without any escape sequence, for search. */
export function plainText(text: string): string {
  if (!text.includes('\x1b')) return text;
  return Anser.ansiToText(text.replace(OSC, '').replace(NOT_SGR, ''));
}

/** xterm's 256-colour palette above the 16 named colours, as "r, g, b". */
function paletteRgb(n: number): string {
  if (n >= 232) {
    const g = (n - 232) * 10 + 8;
    return `${g}, ${g}, ${g}`;
  }
  const level = (v: number) => (v === 0 ? 0 : v * 40 + 55);
  const i = n - 16;
  return `${level(Math.floor(i / 36))}, ${level(Math.floor(i / 6) % 6)}, ${level(i % 6)}`;
}

/** A colour as a class (the 16 named ones, themed in CSS) or an inline rgb() for the rest. */
function colour(name: string | null, truecolor: string | null, layer: 'fg' | 'bg') {
  if (!name) return { cls: '', css: '' };
  const prop = layer === 'fg' ? 'color' : 'background-color';
  if (name === 'ansi-truecolor' && truecolor) return { cls: '', css: `${prop}: rgb(${truecolor})` };
  const palette = /^ansi-palette-(\d+)$/.exec(name);
  if (palette) return { cls: '', css: `${prop}: rgb(${paletteRgb(Number(palette[1]))})` };
  return { cls: `${name}-${layer}`, css: '' };
}

function toSegment(entry: Anser.AnserJsonEntry, href: string | null): Segment {
  const fg = colour(entry.fg, entry.fg_truecolor, 'fg');
  const bg = colour(entry.bg, entry.bg_truecolor, 'bg');
  const decorations = entry.decorations.map((d) => `ansi-${d}`);
  return {
    text: entry.content,
    classes: [fg.cls, bg.cls, ...decorations].filter(Boolean).join(' '),
    style: [fg.css, bg.css].filter(Boolean).join('; '),
    href,
    mark: false,
  };
}

/** Plain URLs in unlinked text become links of their own. */
function linkUrls(seg: Segment): Segment[] {
  if (seg.href || !seg.text.includes('://')) return [seg];
  const out: Segment[] = [];
  let last = 0;
  for (const m of seg.text.matchAll(URL_IN_TEXT)) {
    const href = safeHref(m[0]);
    if (!href) continue;
    if (m.index > last) out.push({ ...seg, text: seg.text.slice(last, m.index) });
    out.push({ ...seg, text: m[0], href });
    last = m.index + m[0].length;
  }
  if (last < seg.text.length) out.push({ ...seg, text: seg.text.slice(last) });
  return out;
}

/**
 * Splits segments so that every match of `query` (a text, any case; or a Matcher) is its own
 * marked one. A match is looked for within each segment: one across a colour change is not marked.
 */
export function markMatches(segments: Segment[], query: string | Matcher | null): Segment[] {
  const matcher = typeof query === 'string' ? makeMatcher({ query }) : query;
  if (!matcher || !isMatcher(matcher)) return segments;
  const out: Segment[] = [];
  for (const seg of segments) {
    let last = 0;
    for (const [at, end] of matcher.ranges(seg.text)) {
      if (at > last) out.push({ ...seg, text: seg.text.slice(last, at) });
      out.push({ ...seg, text: seg.text.slice(at, end), mark: true });
      last = end;
    }
    if (last < seg.text.length) out.push(last === 0 ? seg : { ...seg, text: seg.text.slice(last) });
  }
  return out;
}

/** One line of output, starting in colour state `carry`, as segments to render as text. */
export function toSegments(
  line: string,
  carry: SgrState | null,
  query: string | Matcher | null = '',
): Segment[] {
  const anser = newAnser(carry);
  const segments: Segment[] = [];
  for (const piece of splitOsc(line)) {
    const text = piece.text.replace(NOT_SGR, '');
    if (!text) continue;
    for (const entry of anser.process(KEEP_STATE + text, OPTIONS, true)) {
      segments.push(...linkUrls(toSegment(entry, piece.href)));
    }
  }
  return markMatches(segments, query);
}
