import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  BUILTIN_PRESETS,
  DEFAULT_PARAM_REGEX,
  renderPreset,
  validatePresets,
  type Preset,
} from './presets.js';
import { shellQuote } from '../process/shell.js';

const run = promisify(execFile);

const preset = (command: string, params: Record<string, string> = {}, name = 'p'): Preset => ({
  name,
  command,
  follow: false,
  params,
});

/** What the real shell receives as arguments, one per NUL-terminated field. */
async function shellArgs(command: string): Promise<string[]> {
  const { stdout } = await run('sh', ['-c', command], { encoding: 'utf8' });
  return stdout.split('\0').slice(0, -1);
}

/** A small seeded generator, so a failing case can be replayed. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY = [
  ...'\'"\\`$!*?[]{}()<>|&;#~ \t\n\r=%-',
  'a',
  'Z',
  '0',
  'é',
  '€',
  '😀',
  '$(id)',
  "'\\''",
  '{x}',
  '-n',
];

function randomValue(next: () => number): string {
  const length = Math.floor(next() * 24);
  return Array.from({ length }, () => NASTY[Math.floor(next() * NASTY.length)]).join('');
}

describe(validatePresets.name, () => {
  it('accepts the built-in presets as they are', () => {
    expect(validatePresets(BUILTIN_PRESETS)).toEqual(BUILTIN_PRESETS);
    expect(BUILTIN_PRESETS.map((p) => [p.name, p.command, p.follow])).toEqual([
      ['docker-ps', 'docker ps', false],
      ['docker-logs', 'docker logs -f --tail 200 {container}', true],
      ['journal', 'journalctl -f -u {unit}', true],
      ['uptime', 'uptime', false],
    ]);
  });

  it('fills in the default regex of a placeholder without one', () => {
    const [checked] = validatePresets([
      preset('ls -l {dir} | grep {pat};echo {x}', { pat: '^[a-z]+$' }),
    ]);
    expect(checked?.params).toEqual({
      dir: DEFAULT_PARAM_REGEX,
      pat: '^[a-z]+$',
      x: DEFAULT_PARAM_REGEX,
    });
  });

  it('accepts placeholders next to shell operators and quotes elsewhere in the command', () => {
    for (const command of [
      '{a}',
      'cat <{a} >{b} 2>&1',
      '(cd {a}&&ls)',
      `docker ps --format '{{.Names}}' {a}`,
      `echo "x y" 'it''s' {a}`,
      'echo \\{ {a}',
    ])
      expect(() => validatePresets([preset(command)]), command).not.toThrow();
  });

  it.each([
    ['x{a}', 'is not a whole shell word'],
    ['{a}b', 'is not a whole shell word'],
    ['echo ${a}', 'is not a whole shell word'],
    ['echo --n={a}', 'is not a whole shell word'],
    ['echo {a}{b}', 'is not a whole shell word'],
    ['echo \\{a}', 'is not a whole shell word'],
    ['echo \\ {a}', 'is not a whole shell word'],
    ['echo {a}"x"', 'is not a whole shell word'],
    ['"{a}"', 'stands inside double quotes'],
    ["'{a}'", 'stands inside single quotes'],
    ['sh -c "echo {a}"', 'stands inside double quotes'],
    ["awk '{print}' {file}", 'stands inside single quotes'],
    [`echo "it's" '{a} x'`, 'stands inside single quotes'],
    ['echo "unclosed {a}', 'stands inside double quotes'],
    ["echo 'unclosed", 'a single quote is not closed'],
    ['   ', 'the command is empty'],
  ])('refuses %s', (command, problem) => {
    expect(() => validatePresets([preset(command, {}, 'bad')])).toThrow(`preset "bad": `);
    expect(() => validatePresets([preset(command, {}, 'bad')])).toThrow(problem);
  });

  it('refuses a repeated name', () => {
    expect(() => validatePresets([preset('uptime', {}, 'u'), preset('date', {}, 'u')])).toThrow(
      'preset "u": the name is used more than once',
    );
  });

  it('refuses a param the command does not use', () => {
    expect(() => validatePresets([preset('ls {a}', { a: '^a$', b: '^b$' })])).toThrow(
      'preset "p": param "b" is not used in the command',
    );
  });

  it.each([
    ['^[a-z+$', 'does not compile'],
    ['[a-z]+$', 'must be anchored with ^…$'],
    ['^[a-z]+', 'must be anchored with ^…$'],
    ['^[a-z]+\\$', 'must be anchored with ^…$'],
  ])('refuses the regex %s', (regex, problem) => {
    expect(() => validatePresets([preset('ls {a}', { a: regex })])).toThrow(
      new RegExp(`^preset "p": the regex of param "a" .*${problem.replace(/[$^…]/g, '.')}`),
    );
  });

  it('accepts a regex ending in an escaped backslash before $', () => {
    expect(() => validatePresets([preset('ls {a}', { a: '^a\\\\$' })])).not.toThrow();
  });
});

describe(renderPreset.name, () => {
  const logs = BUILTIN_PRESETS.find((p) => p.name === 'docker-logs')!;

  it('puts each value in as one single-quoted word', () => {
    expect(renderPreset(logs, { container: 'web_1.x' })).toBe(
      "docker logs -f --tail 200 'web_1.x'",
    );
    const [p] = validatePresets([preset('cp {a} {b} && echo {a}', { a: '^.*$' })]);
    expect(renderPreset(p!, { a: "it's", b: 'x' })).toBe("cp 'it'\\''s' 'x' && echo 'it'\\''s'");
  });

  it('renders a preset without placeholders as it is', () => {
    expect(renderPreset(BUILTIN_PRESETS[0]!, {})).toBe('docker ps');
  });

  it.each([
    [{ container: '-rf' }, 'param "container" of preset "docker-logs" must match'],
    [{ container: 'a b' }, 'must match'],
    [{ container: "x'y" }, 'must match'],
    [{}, 'preset "docker-logs" needs param "container"'],
    [{ container: 'a', other: 'b' }, 'preset "docker-logs" has no param "other"'],
    [{ container: 'a', constructor: 'b' }, 'has no param "constructor"'],
  ])('refuses %j with BAD_ARGS', (values, message) => {
    expect(() => renderPreset(logs, values as Record<string, string>)).toThrow(
      expect.objectContaining({
        code: 'BAD_ARGS',
        message: expect.stringContaining(message) as unknown,
      }),
    );
  });

  it('uses the default regex for a placeholder the preset has no regex for', () => {
    const raw = preset('cat {file}');
    expect(renderPreset(raw, { file: 'a/b.log' })).toBe("cat 'a/b.log'");
    expect(() => renderPreset(raw, { file: '../$x' })).toThrow(
      expect.objectContaining({ code: 'BAD_ARGS' }),
    );
  });

  it('keeps a regex with a top-level | anchored as a whole', () => {
    const [p] = validatePresets([preset('ls {a}', { a: '^a$|^b$' })]);
    expect(renderPreset(p!, { a: 'b' })).toBe("ls 'b'");
    expect(() => renderPreset(p!, { a: 'b; rm -rf /' })).toThrow(
      expect.objectContaining({ code: 'BAD_ARGS' }),
    );
  });

  it('refuses values with NUL or past the length cap, even under a permissive regex', () => {
    const [p] = validatePresets([preset('ls {a}', { a: '^[\\s\\S]*$' })]);
    expect(() => renderPreset(p!, { a: 'a\0b' })).toThrow(
      expect.objectContaining({ code: 'BAD_ARGS' }),
    );
    expect(() => renderPreset(p!, { a: 'x'.repeat(1025) })).toThrow(
      expect.objectContaining({ code: 'BAD_ARGS' }),
    );
  });

  it('refuses to render a template that validatePresets would refuse', () => {
    expect(() => renderPreset(preset('echo "{a}"'), { a: 'x' })).toThrow(
      'preset "p": {a} stands inside double quotes',
    );
  });

  it('gives the real shell each value as exactly one argument, for many random values', async () => {
    const seed = 20_240_611;
    const next = random(seed);
    const [p] = validatePresets([
      preset(`printf '%s\\0' {v} {w}`, { v: '^[^\\x00]*$', w: '^[^\\x00]*$' }),
    ]);
    const cases = Array.from({ length: 400 }, () => ({
      v: randomValue(next),
      w: randomValue(next),
    }));
    for (let i = 0; i < cases.length; i += 25) {
      const batch = cases.slice(i, i + 25);
      const results = await Promise.all(batch.map((values) => shellArgs(renderPreset(p!, values))));
      results.forEach((args, j) =>
        expect(args, `seed ${seed}, case ${i + j}`).toEqual([batch[j]!.v, batch[j]!.w]),
      );
    }
  });
});

describe(shellQuote.name, () => {
  it('quotes the empty string and embedded quotes', async () => {
    expect(shellQuote('')).toBe("''");
    expect(await shellArgs(`printf '%s\\0' ${shellQuote("'")} ${shellQuote('')}`)).toEqual([
      "'",
      '',
    ]);
  });
});
