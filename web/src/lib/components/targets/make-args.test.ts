import { describe, expect, it } from 'vitest';
import { argProblem, parseExtraArgs } from './make-args.js';

describe(parseExtraArgs.name, () => {
  it('reads NAME=value words', () => {
    expect(parseExtraArgs(' NAME=dana  ENV=staging,eu ')).toEqual({
      args: { NAME: 'dana', ENV: 'staging,eu' },
      problem: null,
    });
  });

  it.each(['NAME', '=x', 'SHELL=/bin/sh', 'MAKEFLAGS=x', 'X=-rf', 'X=a;b', '9X=1'])(
    'refuses %j as the server would',
    (word) => expect(parseExtraArgs(word).problem).not.toBeNull(),
  );
});

describe(argProblem.name, () => {
  it('accepts an empty value', () => expect(argProblem('NAME', '')).toBeNull());

  it('names the rule a value breaks: its length, or the character that is not allowed', () => {
    expect(argProblem('REV', 'a'.repeat(300))).toBe('REV: at most 256 characters (this is 300)');
    expect(argProblem('REV', 'abc;rm')).toBe(
      'REV: “;” is not allowed; only letters, digits and _ . / : @ % + , = -',
    );
  });
});
