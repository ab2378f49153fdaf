// Every page but /login needs a session: ask the server on app load, else go and sign in.
import { error, redirect } from '@sveltejs/kit';
import { resolve } from '$app/paths';
import { fetchMeOnce } from '$lib/api/auth.js';
import { ApiError } from '$lib/api/client.js';
import { loginPath } from '$lib/api/login-redirect.js';
import { loadBackend } from '$lib/settings/backend.js';
import type { LayoutLoad } from './$types';

export const load: LayoutLoad = async ({ fetch, url, untrack }) => {
  let user;
  try {
    user = await fetchMeOnce(fetch);
  } catch (cause) {
    const code = cause instanceof ApiError ? cause.code : undefined;
    const where = loadBackend()?.url;
    const message = where
      ? `Cannot reach the backend at ${where}; it must be running and list this origin in security.allowedOrigins.`
      : 'Cannot check your session: the server did not answer.';
    error(503, { message, code });
  }
  const backend = loadBackend();
  if (!user && backend) {
    // Signing in on this page would not help: the other backend refused the token.
    error(401, { message: `The backend at ${backend.url} refused the API token.` });
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
