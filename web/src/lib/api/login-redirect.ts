// Where to send the user after sign-in. Only same-site paths are accepted, so a crafted
// /login?next=https://evil.example link cannot turn sign-in into an open redirect.
import type { Pathname } from '$app/types';

/** The sign-in page, remembering `from`; call sites wrap it in resolve() from $app/paths. */
export function loginPath(from: string): '/login' | `/login?next=${string}` {
  return from === '/' ? '/login' : `/login?next=${encodeURIComponent(from)}`;
}

/**
 * `next` as a path on this site, else `/`. Typed as a Pathname for resolve(): it may still name
 * no route, and then the 404 page says so.
 */
export function safeNext(next: string | null): Pathname {
  const unsafe = !next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\');
  return (unsafe || next.startsWith('/login') ? '/' : next) as Pathname;
}
