import { describe, expect, it } from 'vitest';
import { badgeText } from '$lib/state/tab-badge.svelte.js';
import { desktopNotificationsOn, setDesktopNotifications } from './desktop-notifications.js';

function memory() {
  const m = new Map<string, string>();
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
  };
}

describe('desktop notifications and the tab title', () => {
  it('are on only once the browser allowed them, and off when turned off', async () => {
    const s = memory();
    expect(await setDesktopNotifications(true, s, () => Promise.resolve('denied'))).toBe(false);
    expect(desktopNotificationsOn(s)).toBe(false);
    expect(await setDesktopNotifications(true, s, () => Promise.resolve('granted'))).toBe(true);
    expect(desktopNotificationsOn(s)).toBe(true);
    expect(await setDesktopNotifications(false, s)).toBe(false);
    expect(desktopNotificationsOn(s)).toBe(false);
  });

  it('counts running and failed jobs in the title, and nothing when there are none', () => {
    expect(badgeText(0, 0)).toBe('');
    expect(badgeText(2, 0)).toBe('(2 running) ');
    expect(badgeText(2, 1)).toBe('(2 running, 1 failed) ');
    expect(badgeText(0, 3)).toBe('(3 failed) ');
  });
});
