// SPEC §2's execution rules for make, checked one rule at a time.
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import type { TargetInfo } from '@vmo/protocol';
import { checkMakeArgs, checkTargetParams, displayCommand, makeArgv } from './make-command.js';

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
  ])('refuses the value %j', (value) => {
    const err = refusal({ NAME: value });
    expect(err.code).toBe('BAD_ARGS');
    expect(err.message).toContain('the value of NAME may hold only');
  });

  it('refuses a value over 256 characters, saying that rather than the character set', () => {
    expect(refusal({ NAME: 'x'.repeat(256) + 'é' })).toMatchObject({
      code: 'BAD_ARGS',
      message: 'the value of NAME is 257 characters long; at most 256',
    });
    expect(() => checkMakeArgs({ NAME: 'x'.repeat(256) })).not.toThrow();
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
