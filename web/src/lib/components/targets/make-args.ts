// Make variables typed into the run form, checked with the rules the server applies (SPEC §2,
// "Execution rules") so a mistake is shown beside the field instead of as a 400 afterwards.
import type { MakeArgs } from '@vmo/protocol';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VALUE = /^[A-Za-z0-9_./:@%+,=-]*$/;
const MAX_VALUE = 256;
const RESERVED = /^(SHELL|MAKE.*|MFLAGS|GNUMAKEFLAGS|VPATH)$/;

/** Why NAME=value would be refused, or null when it is fine. */
export function argProblem(name: string, value: string): string | null {
  if (!NAME.test(name)) return `“${name}” is not a make variable name`;
  if (RESERVED.test(name)) return `${name} cannot be set from here`;
  // Each rule on its own, so the message names the one the value breaks.
  if (value.length > MAX_VALUE)
    return `${name}: at most ${MAX_VALUE} characters (this is ${value.length})`;
  if (!VALUE.test(value)) {
    const bad = [...value].find((c) => !VALUE.test(c));
    return `${name}: “${bad}” is not allowed; only letters, digits and _ . / : @ % + , = -`;
  }
  if (value.startsWith('-')) return `${name}: a value cannot start with “-”`;
  return null;
}

/** `NAME=value OTHER=x` into args; the first problem found, if any. */
export function parseExtraArgs(text: string): { args: MakeArgs; problem: string | null } {
  const args: MakeArgs = {};
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const eq = word.indexOf('=');
    if (eq <= 0) return { args, problem: `“${word}” is not NAME=value` };
    const name = word.slice(0, eq);
    const value = word.slice(eq + 1);
    const problem = argProblem(name, value);
    if (problem) return { args, problem };
    args[name] = value;
  }
  return { args, problem: null };
}
