// Remote command presets: the built-in ones, their safety check at boot, and a preset rendered with its params into one shell command.
import { AppError } from '../errors.js';
import { shellQuote } from '../process/shell.js';

export interface Preset {
  name: string;
  command: string;
  follow: boolean;
  /** Placeholder name → the regex source its values must match. */
  params: Record<string, string>;
}

export const DEFAULT_PARAM_REGEX = '^[A-Za-z0-9][A-Za-z0-9_.:@/-]*$';
/** Values are short words (names, units); a cap also bounds the work of an unlucky regex. */
const MAX_VALUE_LENGTH = 1024;

export const BUILTIN_PRESETS: Preset[] = [
  { name: 'docker-ps', command: 'docker ps', follow: false, params: {} },
  {
    name: 'docker-logs',
    command: 'docker logs -f --tail 200 {container}',
    follow: true,
    params: { container: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' },
  },
  {
    name: 'journal',
    command: 'journalctl -f -u {unit}',
    follow: true,
    params: { unit: '^[A-Za-z0-9][A-Za-z0-9_.@:-]*$' },
  },
  { name: 'uptime', command: 'uptime', follow: false, params: {} },
];

interface Placeholder {
  name: string;
  start: number;
  end: number;
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/y;
// Characters that end a shell word when they stand unquoted and unescaped.
const WORD_BREAK = /[\s;&|()<>]/;

/** The placeholders of a command; throws when one is not a whole unquoted word, or a quote is left open. */
function scan(command: string): Placeholder[] {
  const found: Placeholder[] = [];
  let quote: "'" | '"' | null = null;
  let escaped = false;
  let wordStart = true;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    // Looked for even after a backslash: `\{a}` is refused, not silently left as text.
    const placeholder = c === '{' ? placeholderAt(command, i, quote, wordStart) : null;
    if (placeholder) {
      found.push(placeholder);
      i = placeholder.end - 1;
      escaped = wordStart = false;
      continue;
    }
    const literal = escaped;
    if (escaped) escaped = false;
    else if (quote === "'") quote = c === "'" ? null : quote;
    else if (c === '\\') escaped = true;
    else if (quote === '"') quote = c === '"' ? null : quote;
    else if (c === "'" || c === '"') quote = c;
    wordStart = !quote && !escaped && !literal && WORD_BREAK.test(c);
  }
  if (quote) throw new Error(`a ${quote === "'" ? 'single' : 'double'} quote is not closed`);
  return found;
}

function placeholderAt(command: string, i: number, quote: string | null, wordStart: boolean) {
  PLACEHOLDER.lastIndex = i;
  const match = PLACEHOLDER.exec(command);
  if (!match) return null;
  const name = match[1]!;
  const end = i + match[0].length;
  if (quote)
    throw new Error(`{${name}} stands inside ${quote === "'" ? 'single' : 'double'} quotes`);
  const next = command[end];
  if (!wordStart || (next !== undefined && !WORD_BREAK.test(next)))
    throw new Error(`{${name}} is not a whole shell word`);
  return { name, start: i, end };
}

function own(record: Record<string, string>, key: string): string | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function presetError(preset: Preset, problem: string): Error {
  return new Error(`preset "${preset.name}": ${problem}`);
}

/** Checks every preset at boot and fills in the default regex of placeholders without one. */
export function validatePresets(presets: Preset[]): Preset[] {
  const seen = new Set<string>();
  return presets.map((preset) => {
    if (seen.has(preset.name)) throw presetError(preset, 'the name is used more than once');
    seen.add(preset.name);
    return validatePreset(preset);
  });
}

function validatePreset(preset: Preset): Preset {
  if (!preset.command.trim()) throw presetError(preset, 'the command is empty');
  let names: Set<string>;
  try {
    names = new Set(scan(preset.command).map((p) => p.name));
  } catch (err) {
    throw presetError(preset, (err as Error).message);
  }
  for (const key of Object.keys(preset.params))
    if (!names.has(key)) throw presetError(preset, `param "${key}" is not used in the command`);
  const params: Record<string, string> = {};
  for (const name of names) {
    params[name] = own(preset.params, name) ?? DEFAULT_PARAM_REGEX;
    checkRegex(preset, name, params[name]);
  }
  return { ...preset, params };
}

function checkRegex(preset: Preset, name: string, source: string): void {
  try {
    new RegExp(source);
  } catch (err) {
    throw presetError(
      preset,
      `the regex of param "${name}" does not compile: ${(err as Error).message}`,
    );
  }
  // Ends in a `$` that is not escaped (an even number of backslashes before it).
  if (!source.startsWith('^') || !/(?:^|[^\\])(?:\\\\)*\$$/.test(source))
    throw presetError(preset, `the regex of param "${name}" must be anchored with ^…$`);
}

function badArgs(message: string): AppError {
  return new AppError('BAD_ARGS', message);
}

/** The command with each placeholder replaced by its value as one single-quoted shell word. */
export function renderPreset(preset: Preset, values: Record<string, string>): string {
  let placeholders: Placeholder[];
  try {
    placeholders = scan(preset.command);
  } catch (err) {
    throw presetError(preset, (err as Error).message);
  }
  checkValues(preset, new Set(placeholders.map((p) => p.name)), values);
  let out = '';
  let at = 0;
  for (const p of placeholders) {
    out += preset.command.slice(at, p.start) + shellQuote(own(values, p.name)!);
    at = p.end;
  }
  return out + preset.command.slice(at);
}

function checkValues(preset: Preset, names: Set<string>, values: Record<string, string>): void {
  for (const key of Object.keys(values))
    if (!names.has(key)) throw badArgs(`preset "${preset.name}" has no param "${key}"`);
  for (const name of names) {
    const value = own(values, name);
    if (value === undefined) throw badArgs(`preset "${preset.name}" needs param "${name}"`);
    const source = own(preset.params, name) ?? DEFAULT_PARAM_REGEX;
    // Wrapped again so that a top-level `|` in the regex cannot unanchor it.
    const ok =
      typeof value === 'string' &&
      value.length <= MAX_VALUE_LENGTH &&
      !value.includes('\0') &&
      new RegExp(`^(?:${source})$`).test(value);
    if (!ok) throw badArgs(`param "${name}" of preset "${preset.name}" must match ${source}`);
  }
}
