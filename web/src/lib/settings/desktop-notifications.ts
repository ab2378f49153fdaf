// Opt-in desktop notifications when the user's jobs end while the tab is out of sight (issue 24):
// the choice is kept in this browser; the browser's own permission is asked when it is turned on.
const KEY = 'vmo.desktopNotifications';

export function desktopNotificationsOn(storage: Pick<Storage, 'getItem'> = localStorage): boolean {
  return storage.getItem(KEY) === 'on';
}

/** Turns them on (asking the browser's permission) or off; true when they are on afterwards. */
export async function setDesktopNotifications(
  on: boolean,
  storage: Pick<Storage, 'setItem' | 'removeItem'> = localStorage,
  ask: () => Promise<NotificationPermission> = () => Notification.requestPermission(),
): Promise<boolean> {
  if (!on) {
    storage.removeItem(KEY);
    return false;
  }
  const permission = await ask();
  if (permission !== 'granted') {
    storage.removeItem(KEY);
    return false;
  }
  storage.setItem(KEY, 'on');
  return true;
}

/** Shows one, when they are on, allowed, and the page is hidden; clicking it opens `href`. */
export function notifyDesktop(
  title: string,
  body: string,
  href: string,
  tag: string,
): Notification | null {
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return null;
  if (!desktopNotificationsOn() || !document.hidden) return null;
  const n = new Notification(title, { body, tag });
  n.onclick = () => {
    window.focus();
    window.location.assign(href);
    n.close();
  };
  return n;
}
