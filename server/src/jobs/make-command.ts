// SPEC §2's execution rules for make: which variables may be passed, the argv, the environment,
// and the display string. Variables end up in recipes, so they are code unless checked here.
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import type { MakeArgs, TargetInfo } from '@vmo/protocol';
import { AppError } from '../errors.js';

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VAR_VALUE = /^[A-Za-z0-9_./:@%+,=-]{0,256}$/;
const RESERVED = /^(SHELL|MAKE.*|MFLAGS|GNUMAKEFLAGS|VPATH|\.SHELLFLAGS)$/;
/** Variables that steer make itself: never from the server's environment, whatever `pass` says. */
const MAKE_CONTROL = /^(MAKEFLAGS|MFLAGS|GNUMAKEFLAGS|MAKELEVEL|MAKEFILES)$/i;

/**
 * What a job never sees of the server's environment (`jobs.env.drop` adds to it): the server's
 * database settings, its own variables, and anything named like a key, secret, token, password
 * or credentials, cloud providers' included (`AWS_SECRET_ACCESS_KEY`, `AZURE_CLIENT_SECRET`,
 * `GOOGLE_APPLICATION_CREDENTIALS`, `VAULT_TOKEN`…). Globs with `*`, case-insensitive.
 */
export const DEFAULT_ENV_DROP = [
  'DATABASE_URL',
  'VMO_*',
  'PG*',
  '*_KEY',
  '*_SECRET*',
  '*_TOKEN*',
  '*_PASSWORD*',
  '*_PASSWD*',
  '*_CREDENTIALS*',
  'SECRET_*',
  'SECRET',
  'TOKEN',
  'PASSWORD',
  'PASSWD',
];
/** What passes even so (`jobs.env.pass` adds to it): what jobs commonly need to reach things. */
export const DEFAULT_ENV_PASS = ['SSH_AUTH_SOCK', 'AWS_PROFILE', 'KUBECONFIG'];

export interface EnvRules {
  drop: string[];
  pass: string[];
}

function globs(patterns: string[]): RegExp {
  const alternatives = patterns.map((p) =>
    p
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*'),
  );
  return new RegExp(`^(?:${alternatives.join('|') || '(?!)'})$`, 'i');
}

/** The rules in force, compiled. */
export interface EnvFilter {
  drop: RegExp;
  pass: RegExp;
}

/** The rules in force: the defaults plus `jobs.env` from the config file; `pass` wins over `drop`. */
export function envRules(config: Partial<EnvRules> = {}): EnvFilter {
  return {
    drop: globs([...DEFAULT_ENV_DROP, ...(config.drop ?? [])]),
    pass: globs([...DEFAULT_ENV_PASS, ...(config.pass ?? [])]),
  };
}

const DEFAULT_RULES = envRules();

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
    if (!VAR_VALUE.test(value)) {
      throw new AppError(
        'BAD_ARGS',
        `the value of ${name} may hold only letters, digits and _ . / : @ % + , = - (at most 256)`,
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

/** The server's environment minus what a job must never see (SPEC §2, `jobs.env`). */
export function jobEnvironment(
  env: NodeJS.ProcessEnv,
  rules: EnvFilter = DEFAULT_RULES,
): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (MAKE_CONTROL.test(k)) continue;
    if (rules.pass.test(k) || !rules.drop.test(k)) out[k] = v;
  }
  return out;
}

/** An executable named like the alias on PATH (the mkcli convention), or null. */
export function findOnPath(name: string, pathVar: string | undefined): string | null {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) return null;
  for (const dir of (pathVar ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate; // a directory is "executable" too
    } catch {
      // not here
    }
  }
  return null;
}
