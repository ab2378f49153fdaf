import { describe, expect, it } from 'vitest';
import { hostColumnWidth, hostHue } from './host-tags.js';

describe('host tags', () => {
  it('give each host the same hue every time, and different hosts mostly different ones', () => {
    expect(hostHue('prod/web1')).toBe(hostHue('prod/web1'));
    const hues = new Set(Array.from({ length: 50 }, (_, i) => hostHue(`prod/web${i + 1}`)));
    expect(hues.size).toBeGreaterThan(40);
    for (const h of hues) expect(h).toBeGreaterThanOrEqual(0);
    for (const h of hues) expect(h).toBeLessThan(360);
  });

  it('size the host column to the longest name, within reason', () => {
    const tag = (name: string) => ({ name, hue: 0, jobId: null });
    expect(hostColumnWidth([tag('web1'), tag('staging/app12')])).toBe(14);
    expect(hostColumnWidth([tag('x'.repeat(80))])).toBe(25);
    expect(hostColumnWidth([])).toBe(5);
  });
});
