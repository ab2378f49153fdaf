// What the log's search looks for: a text (any case, or matching case) or a regular expression,
// as ranges in a line. Shared by the scan for matching lines and the marks drawn in them.

export interface SearchOptions {
  query: string;
  regex?: boolean;
  caseSensitive?: boolean;
}

export interface Matcher {
  /** [start, end) of each match in `text`, in order, none empty. */
  ranges(text: string): [number, number][];
}

/** The matcher for `o`, or the reason a regular expression is not one; null when nothing is asked. */
export function makeMatcher(o: SearchOptions): Matcher | { error: string } | null {
  const query = o.regex ? o.query : o.query.trim();
  if (!query) return null;
  if (o.regex) {
    let re: RegExp;
    try {
      re = new RegExp(query, o.caseSensitive ? 'g' : 'gi');
    } catch (err) {
      return { error: (err as Error).message.replace(/^Invalid regular expression: /, '') };
    }
    return {
      ranges(text) {
        const out: [number, number][] = [];
        re.lastIndex = 0;
        for (let m = re.exec(text); m; m = re.exec(text)) {
          if (m[0].length === 0) {
            re.lastIndex++;
            continue;
          }
          out.push([m.index, m.index + m[0].length]);
        }
        return out;
      },
    };
  }
  const needle = o.caseSensitive ? query : query.toLowerCase();
  return {
    ranges(text) {
      const hay = o.caseSensitive ? text : text.toLowerCase();
      const out: [number, number][] = [];
      for (let at = hay.indexOf(needle); at !== -1; at = hay.indexOf(needle, at + needle.length))
        out.push([at, at + needle.length]);
      return out;
    },
  };
}

export const isMatcher = (m: ReturnType<typeof makeMatcher>): m is Matcher =>
  m !== null && 'ranges' in m;
