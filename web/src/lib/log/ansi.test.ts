import { describe, expect, it } from 'vitest';
import { carryAfter, plainText, safeHref, toSegments } from './ansi.js';

const ESC = '\x1b';

describe(toSegments.name, () => {
  it('turns SGR colours and bold into classes, and reset back into plain text', () => {
    const segs = toSegments(`${ESC}[32mgreen${ESC}[0m ${ESC}[1;34mbold blue${ESC}[0m done`, null);
    expect(segs.map((s) => [s.text, s.classes])).toEqual([
      ['green', 'ansi-green-fg'],
      [' ', ''],
      ['bold blue', 'ansi-blue-fg ansi-bold'],
      [' done', ''],
    ]);
  });

  it('keeps markup as text: output is never HTML', () => {
    const segs = toSegments('<img src=x onerror=alert(1)>', null);
    expect(segs).toEqual([
      expect.objectContaining({ text: '<img src=x onerror=alert(1)>', href: null }),
    ]);
  });

  it('gives 256-colour and truecolor as rgb() built from numbers', () => {
    const [a, b] = toSegments(`${ESC}[38;5;196mA${ESC}[48;2;1;2;3mB`, null);
    expect(a?.style).toBe('color: rgb(255, 0, 0)');
    expect(b?.style).toBe('color: rgb(255, 0, 0); background-color: rgb(1, 2, 3)');
  });

  it('links OSC 8 hyperlinks and plain URLs only when they are http(s)', () => {
    const osc = (url: string, text: string) => `${ESC}]8;;${url}${ESC}\\${text}${ESC}]8;;${ESC}\\`;
    const segs = toSegments(
      `${osc('javascript:alert(1)', 'evil')} ${osc('https://example.com/a', 'ok')} see http://x.test/p.`,
      null,
    );
    expect(segs.map((s) => [s.text, s.href])).toEqual([
      ['evil', null],
      [' ', null],
      ['ok', 'https://example.com/a'],
      [' see ', null],
      ['http://x.test/p', 'http://x.test/p'],
      ['.', null],
    ]);
  });

  it('drops cursor moves, titles and control characters', () => {
    const segs = toSegments(`${ESC}]0;title${ESC}\\a${ESC}[2Kb${ESC}(Bc\x07d`, null);
    expect(segs.map((s) => s.text).join('')).toBe('abcd');
  });

  it('starts a line in the colour the previous one left open', () => {
    const carry = carryAfter(`${ESC}[31mred starts`, null);
    expect(toSegments('still red', carry)).toEqual([
      expect.objectContaining({ text: 'still red', classes: 'ansi-red-fg' }),
    ]);
    expect(carryAfter(`more${ESC}[0m`, carry)).toBeNull();
  });

  it('marks search matches case-insensitively across colour changes', () => {
    const segs = toSegments(`Err ${ESC}[31merror${ESC}[0m`, null, 'err');
    expect(segs.filter((s) => s.mark).map((s) => s.text)).toEqual(['Err', 'err']);
  });
});

describe(plainText.name, () => {
  it('strips escapes for search', () => {
    expect(
      plainText(`${ESC}[1mbold${ESC}[0m ${ESC}]8;;https://a.b${ESC}\\link${ESC}]8;;${ESC}\\`),
    ).toBe('bold link');
  });
});

describe(safeHref.name, () => {
  it.each(['javascript:alert(1)', 'data:text/html,x', 'vbscript:x', 'not a url', 'file:///etc'])(
    'refuses %j',
    (url) => expect(safeHref(url)).toBeNull(),
  );
});
