// How a fan-out's merged output names the host of each line: its name, in a colour of its own
// that is the same on every page and every visit (a hue from the name), and where its own log is.

export interface HostTag {
  name: string;
  /** 0–359: the host's colour, as a hue the row's classes put in light and dark tones. */
  hue: number;
  /** The host's own job, for its line numbers; null for the group's own lines. */
  jobId: string | null;
}

/** FNV-1a of the name, spread over the hues. */
export function hostHue(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % 360;
}

/** The width of the host column, in ch: the longest name, within reason. */
export const hostColumnWidth = (tags: Iterable<HostTag>): number => {
  let longest = 4;
  for (const t of tags) longest = Math.max(longest, t.name.length);
  return Math.min(longest, 24) + 1;
};
