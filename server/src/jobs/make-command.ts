// SPEC §2's execution rules for make: which variables may be passed, the argv, the environment,
// and the display string. Variables end up in recipes, so they are code unless checked here.
import type { MakeArgs, TargetInfo } from '@vmo/protocol';
import { AppError } from '../errors.js';

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_VALUE = 256;
const VAR_VALUE = /^[A-Za-z0-9_./:@%+,=-]*$/;
const RESERVED = /^(SHELL|MAKE.*|MFLAGS|GNUMAKEFLAGS|VPATH|\.SHELLFLAGS)$/;

/** Throws 400 BAD_ARGS naming the first offending variable. */
export function checkMakeArgs(args: MakeArgs): void {
  for (const [name, value] of Object.entries(args)) {
    if (!VAR_NAME.test(name))
      throw new AppError(
        'BAD_ARGS',
        `"${name}" is not a make variable name (letters, digits, _; not starting with a digit)`,
      );
    if (RESERVED.test(name))
      throw new AppError('BAD_ARGS', `the make variable ${name} may not be set`);
    // Each rule on its own, so the message names the one the value breaks.
    if (value.length > MAX_VALUE)
      throw new AppError(
        'BAD_ARGS',
        `the value of ${name} is ${value.length} characters long; at most ${MAX_VALUE}`,
      );
    if (!VAR_VALUE.test(value)) {
      throw new AppError(
        'BAD_ARGS',
        `the value of ${name} may hold only letters, digits and _ . / : @ % + , = -`,
      );
    }
    if (value.startsWith('-'))
      throw new AppError('BAD_ARGS', `the value of ${name} may not start with "-"`);
  }
}

/** A target's declared parameters narrow the general rule: only those names, listed choices, required ones present. */
export function checkTargetParams(target: TargetInfo, args: MakeArgs): void {
  if (!target.params) return;
  const declared = new Map(target.params.map((p) => [p.name, p]));
  for (const [name, value] of Object.entries(args)) {
    const param = declared.get(name);
    if (!param) {
      const names = target.params.map((p) => p.name).join(', ') || 'no variables';
      throw new AppError('BAD_ARGS', `${target.name} takes ${names}; not ${name}`);
    }
    if (param.choices && !param.choices.includes(value)) {
      throw new AppError('BAD_ARGS', `${name} must be one of ${param.choices.join(', ')}`);
    }
  }
  const missing = target.params.find((p) => p.required && !(p.name in args));
  if (missing) throw new AppError('BAD_ARGS', `${target.name} needs ${missing.name}`);
}

const assignments = (args: MakeArgs) => Object.entries(args).map(([k, v]) => `${k}=${v}`);

/** `make -C <dir> --no-print-directory -- <target> NAME=value…`, or `<alias> <target> NAME=value…` for an mkcli alias on PATH. */
export function makeArgv(opts: {
  dir: string;
  target: string;
  args: MakeArgs;
  viaAlias?: string | null;
}): [string, ...string[]] {
  if (opts.viaAlias) return [opts.viaAlias, opts.target, ...assignments(opts.args)];
  return [
    'make',
    '-C',
    opts.dir,
    '--no-print-directory',
    '--',
    opts.target,
    ...assignments(opts.args),
  ];
}

/** What the API and the UI show: catalog names only, never paths. */
export function displayCommand(target: string, args: MakeArgs): string {
  return ['make', target, ...assignments(args)].join(' ');
}
