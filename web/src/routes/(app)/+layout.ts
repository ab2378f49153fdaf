// Every page but /login needs a session: ask the server on app load, else go and sign in.
import { error, redirect } from '@sveltejs/kit';
import { resolve } from '$app/paths';
import { fetchMe } from '$lib/api/auth.js';
import { ApiError } from '$lib/api/client.js';
import { loginPath } from '$lib/api/login-redirect.js';
import type { LayoutLoad } from './$types';

export const load: LayoutLoad = async ({ fetch, url, untrack }) => {
  let user;
  try {
    user = await fetchMe(fetch);
  } catch (cause) {
    const code = cause instanceof ApiError ? cause.code : undefined;
    error(503, { message: 'Cannot check your session: the server did not answer.', code });
  }
  if (!user) {
    // untrack: reading the URL must not re-run this load (and /api/auth/me) on every navigation.
    // The hash (a #L<n> line link) is invisible to load functions; in an SPA window has it.
    const path = untrack(() => url.pathname + url.search);
    const hash =
      window.location.pathname === untrack(() => url.pathname) ? window.location.hash : '';
    redirect(307, resolve(loginPath(path + hash)));
  }
  return { user };
};
