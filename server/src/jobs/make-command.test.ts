// SPEC §2's execution rules for make, checked one rule at a time.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import type { TargetInfo } from '@vmo/protocol';
import {
  checkMakeArgs,
  checkTargetParams,
  displayCommand,
  findOnPath,
  envRules,
  jobEnvironment,
  makeArgv,
} from './make-command.js';

function refusal(args: Record<string, string>): AppError {
  try {
    checkMakeArgs(args);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error(`expected ${JSON.stringify(args)} to be refused`);
}

describe(checkMakeArgs.name, () => {
  it('accepts no variables, an empty value and every allowed character', () => {
    expect(() => checkMakeArgs({})).not.toThrow();
    expect(() => checkMakeArgs({ EMPTY: '' })).not.toThrow();
    expect(() =>
      checkMakeArgs({ _x9: 'AZaz09_./:@%+,=-', ENV: 'staging', LONG: 'x'.repeat(256) }),
    ).not.toThrow();
  });

  it('accepts names that only start like a reserved one', () => {
    expect(() => checkMakeArgs({ SHELLS: 'x', XMAKE: 'y', VPATHS: 'z', make: 'w' })).not.toThrow();
  });

  it.each([
    'SHELL',
    'MAKE',
    'MAKEFLAGS',
    'MAKEFILES',
    'MAKELEVEL',
    'MAKE_RESTARTS',
    'MAKECMDGOALS',
  ])('refuses the reserved name %s', (name) => {
    const err = refusal({ [name]: 'x' });
    expect(err.code).toBe('BAD_ARGS');
    expect(err.status).toBe(400);
    expect(err.message).toBe(`the make variable ${name} may not be set`);
  });

  it.each(['GNUMAKEFLAGS', 'MFLAGS', 'VPATH'])('refuses the reserved name %s', (name) => {
    expect(refusal({ [name]: 'x' }).message).toBe(`the make variable ${name} may not be set`);
  });

  it('refuses .SHELLFLAGS (not even a plain variable name)', () => {
    const err = refusal({ '.SHELLFLAGS': '-c' });
    expect(err.code).toBe('BAD_ARGS');
    expect(err.message).toContain('".SHELLFLAGS" is not a make variable name');
  });

  it.each(['', '1X', 'A B', 'A=B', 'A-B', 'A$B', 'É', 'A\n'])('refuses the name %j', (name) => {
    const err = refusal({ [name]: 'x' });
    expect(err.code).toBe('BAD_ARGS');
    expect(err.message).toContain('is not a make variable name');
  });

  it.each([
    ['$(shell id)'],
    ['`id`'],
    ['a;b'],
    ['a b'],
    ['a\nb'],
    ["a'b"],
    ['a"b'],
    ['a\\b'],
    ['a#b'],
    ['ü'],
    ['x'.repeat(257)],
  ])('refuses the value %j', (value) => {
    const err = refusal({ NAME: value });
    expect(err.code).toBe('BAD_ARGS');
    expect(err.message).toContain('the value of NAME may hold only');
  });

  it('refuses a value starting with "-", which make would read as an option', () => {
    const err = refusal({ NAME: '-n' });
    expect(err.code).toBe('BAD_ARGS');
    expect(err.message).toBe('the value of NAME may not start with "-"');
    expect(() => checkMakeArgs({ NAME: 'a-n' })).not.toThrow();
  });

  it('names the first offending variable', () => {
    expect(refusal({ OK: 'fine', BAD: 'a b', WORSE: '$(x)' }).message).toContain('value of BAD');
  });
});

describe(checkTargetParams.name, () => {
  const target = (params?: TargetInfo['params']): TargetInfo => ({
    name: 'deploy',
    description: '',
    interactive: false,
    phony: true,
    ...(params ? { params } : {}),
  });
  const deploy = target([
    { name: 'ENV', choices: ['staging', 'prod'], default: 'staging', required: false },
    { name: 'TAG', required: true },
    { name: 'NOTE', default: '', required: false },
  ]);
  const refused = (t: TargetInfo, args: Record<string, string>) => {
    try {
      checkTargetParams(t, args);
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('BAD_ARGS');
      return (err as AppError).message;
    }
    throw new Error(`expected ${JSON.stringify(args)} to be refused`);
  };

  it('lets a target without declared parameters take any (already checked) variable', () => {
    expect(() => checkTargetParams(target(), { ANY: 'x', OTHER: 'y' })).not.toThrow();
  });

  it('accepts declared names, listed choices, and leaves out optional ones', () => {
    expect(() => checkTargetParams(deploy, { TAG: 'v1' })).not.toThrow();
    expect(() => checkTargetParams(deploy, { ENV: 'prod', TAG: 'v1', NOTE: 'x' })).not.toThrow();
  });

  it('refuses a variable the target does not declare, naming the ones it does', () => {
    expect(refused(deploy, { TAG: 'v1', DEBUG: '1' })).toBe(
      'deploy takes ENV, TAG, NOTE; not DEBUG',
    );
    expect(refused(target([]), { DEBUG: '1' })).toBe('deploy takes no variables; not DEBUG');
  });

  it('refuses a value outside the listed choices', () => {
    expect(refused(deploy, { ENV: 'dev', TAG: 'v1' })).toBe('ENV must be one of staging, prod');
  });

  it('refuses a request without a required parameter', () => {
    expect(refused(deploy, { ENV: 'prod' })).toBe('deploy needs TAG');
  });
});

describe(makeArgv.name, () => {
  it('runs make in the project dir with the target after "--"', () => {
    expect(
      makeArgv({ dir: '/srv/app', target: 'deploy', args: { ENV: 'staging', V: '1' } }),
    ).toEqual([
      'make',
      '-C',
      '/srv/app',
      '--no-print-directory',
      '--',
      'deploy',
      'ENV=staging',
      'V=1',
    ]);
    expect(makeArgv({ dir: '/srv/app', target: 'all', args: {}, viaAlias: null })).toEqual([
      'make',
      '-C',
      '/srv/app',
      '--no-print-directory',
      '--',
      'all',
    ]);
  });

  it('runs an mkcli alias as `<alias> <target> NAME=value`', () => {
    expect(
      makeArgv({ dir: '/srv/app', target: 'deploy', args: { ENV: 'prod' }, viaAlias: '/bin/app' }),
    ).toEqual(['/bin/app', 'deploy', 'ENV=prod']);
  });
});

describe(displayCommand.name, () => {
  it('shows catalog names only', () => {
    expect(displayCommand('deploy', { ENV: 'staging', TAG: 'v1.2' })).toBe(
      'make deploy ENV=staging TAG=v1.2',
    );
    expect(displayCommand('test', {})).toBe('make test');
  });
});

describe(jobEnvironment.name, () => {
  it('drops the server’s database settings, its own variables, keys, secrets, tokens, passwords and make flags', () => {
    const env = jobEnvironment({
      PATH: '/usr/bin',
      HOME: '/root',
      KEEP_ME: 'yes',
      DATABASE_URL: 'postgres://x',
      PGPASSWORD: 'p',
      PGHOST: 'db',
      VMO_DATA_DIR: '/d',
      VMO_: 'x',
      APP_SECRET: 's',
      AWS_SECRET_ACCESS_KEY: 'k',
      AWS_SESSION_TOKEN: 't',
      AZURE_CLIENT_SECRET: 's',
      GOOGLE_APPLICATION_CREDENTIALS: '/k.json',
      MY_API_KEY: 'k',
      SECRET_KEY_BASE: 's',
      GITHUB_TOKEN: 't',
      NPM_TOKEN_RO: 't',
      DB_PASSWORD: 'p',
      DB_PASSWORD_FILE: '/run/secrets/db',
      PASSWORD: 'p',
      MAKEFLAGS: '-j9',
      MFLAGS: '-j9',
      GNUMAKEFLAGS: '-j9',
      MAKELEVEL: '3',
      MAKEFILES: '/tmp/evil.mk',
      TOKEN_COUNT: '1', // a name that only starts with TOKEN is no secret
      PASSWORD_HINT: 'kept',
      KEYBOARD: 'us',
      SSH_AUTH_SOCK: '/tmp/agent',
      AWS_PROFILE: 'prod',
      KUBECONFIG: '/k',
    });
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/root',
      KEEP_ME: 'yes',
      TOKEN_COUNT: '1',
      PASSWORD_HINT: 'kept',
      KEYBOARD: 'us',
      SSH_AUTH_SOCK: '/tmp/agent',
      AWS_PROFILE: 'prod',
      KUBECONFIG: '/k',
    });
  });

  it('matches names case-insensitively', () => {
    const env = jobEnvironment({
      database_url: 'x',
      Vmo_Config: 'x',
      my_secret: 'x',
      Npm_Token: 'x',
      pg_password: 'x',
      makeflags: 'x',
      path: '/bin',
    });
    expect(env).toEqual({ path: '/bin' });
  });

  it('takes jobs.env: drop adds globs, pass lets a target see what it needs, never make’s flags', () => {
    const rules = envRules({
      drop: ['INTERNAL_*', 'BUILD_ID'],
      pass: ['PGHOST', 'DEPLOY_TOKEN', 'MAKEFLAGS'],
    });
    expect(
      jobEnvironment(
        {
          INTERNAL_URL: 'x',
          internal_flag: 'x',
          BUILD_ID: '1',
          BUILD_IDS: 'kept',
          PGHOST: 'db',
          PGPASSWORD: 'p',
          DEPLOY_TOKEN: 't',
          OTHER_TOKEN: 't',
          MAKEFLAGS: '-j9',
        },
        rules,
      ),
    ).toEqual({ BUILD_IDS: 'kept', PGHOST: 'db', DEPLOY_TOKEN: 't' });
  });

  it('does not change the environment it was given', () => {
    const given = { A_TOKEN: 't', B: 'b' };
    jobEnvironment(given);
    expect(given).toEqual({ A_TOKEN: 't', B: 'b' });
  });
});

describe(findOnPath.name, () => {
  const root = mkdtempSync(path.join(tmpdir(), 'vmo-path-'));
  const first = path.join(root, 'first');
  const second = path.join(root, 'second');
  mkdirSync(first);
  mkdirSync(second);
  // In `first` the alias is a plain file; in `second` an executable.
  writeFileSync(path.join(first, 'app'), 'not a program');
  chmodSync(path.join(first, 'app'), 0o644);
  writeFileSync(path.join(second, 'app'), '#!/bin/sh\n');
  chmodSync(path.join(second, 'app'), 0o755);
  writeFileSync(path.join(first, 'only-plain'), 'x');
  chmodSync(path.join(first, 'only-plain'), 0o644);

  it('finds the first executable of that name, skipping files that are not executable', () => {
    expect(findOnPath('app', [first, second].join(path.delimiter))).toBe(path.join(second, 'app'));
  });

  it('skips empty PATH entries', () => {
    expect(findOnPath('app', ['', second, ''].join(path.delimiter))).toBe(path.join(second, 'app'));
  });

  it('returns null when no entry holds an executable of that name', () => {
    expect(findOnPath('only-plain', [first, second].join(path.delimiter))).toBeNull();
    expect(findOnPath('missing', [first, second].join(path.delimiter))).toBeNull();
    expect(findOnPath('app', '')).toBeNull();
    expect(findOnPath('app', undefined)).toBeNull();
  });

  it.each(['../second/app', 'second/app', '/bin/sh', '-app', '.app', '', 'a b'])(
    'refuses the name %j, which is not an alias',
    (name) => {
      // `root` holds second/app, so a path-like name would otherwise resolve.
      expect(findOnPath(name, [root, first].join(path.delimiter))).toBeNull();
    },
  );

  // Regression (bug found by this test): access(X_OK) also succeeds for a directory, which was then
  // taken for the mkcli executable, and the job failed with EACCES instead of running make.
  it('does not take a directory named like the alias for an executable', () => {
    mkdirSync(path.join(first, 'tools'));
    expect(findOnPath('tools', first)).toBeNull();
  });
});
