// Quoting for a POSIX shell: one word, whatever it holds.

/** `value` as one single-quoted word for sh (a `'` inside becomes `'\''`). */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
