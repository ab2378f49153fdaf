// Sign-in, sign-out and "who am I" (SPEC §4: sessions are httpOnly cookies the page never sees).
import type { AuthProviders, LoginRequest, LogoutRedirect } from '@vmo/protocol';
import type { Caller } from '$lib/components/jobs/permissions.js';
import { clearBackend, loadBackend } from '$lib/settings/backend.js';
import { ROUTES } from './routes.js';
import { call } from './client.js';

/**
 * The signed-in user with what they may do (`can()`'s answers), or null when there is no session
 * (a 401 here is an answer, not an error).
 */
export async function fetchMe(fetchFn?: typeof fetch): Promise<Caller | null> {
  try {
    const { user, permissions, password } = await call(
      ROUTES.auth.me,
      {},
      { fetch: fetchFn, redirectOn401: false },
    );
    return { ...user, permissions, password };
  } catch (error) {
    if ((error as { status?: number }).status === 401) return null;
    throw error;
  }
}

let early: Promise<Caller | null> | null = null;

/**
 * Asks who is signed in as the app starts (hooks.client.ts), beside the route's modules loading
 * rather than after them: the page's first request no longer waits for its code.
 */
export function askMeEarly(): void {
  early ??= fetchMe();
  early.catch(() => {}); // the layout's load reads the outcome, errors included
}

/** The answer asked for early, once (the app's first load); after that a new request. */
export function fetchMeOnce(fetchFn?: typeof fetch): Promise<Caller | null> {
  const answer = early ?? fetchMe(fetchFn);
  early = null;
  return answer;
}

export async function login(credentials: LoginRequest): Promise<void> {
  await call(ROUTES.auth.login, { body: credentials }, { redirectOn401: false });
}

/**
 * Signs out here. For a single sign-on user whose provider offers RP-initiated logout, the
 * provider's end-session URL to go on to (signing out there too); null otherwise.
 */
export async function logout(): Promise<string | null> {
  // Under the backend-URL override the token is the credential: forgetting it signs out.
  if (loadBackend()) {
    clearBackend();
    return null;
  }
  const answer = (await call(ROUTES.auth.logout, {}, { redirectOn401: false })) as
    LogoutRedirect | undefined;
  return answer?.redirect ?? null;
}

/** How one may sign in here (the sign-in page asks before showing its form). */
export function fetchProviders(fetchFn?: typeof fetch): Promise<AuthProviders> {
  return call(ROUTES.auth.providers, {}, { fetch: fetchFn, redirectOn401: false });
}

/** Where the browser goes to sign in with the identity provider, landing on `next` after. */
export function ssoLoginUrl(next: string): string {
  const path = ROUTES.auth.oidcLogin.path;
  return next === '/' ? path : `${path}?returnTo=${encodeURIComponent(next)}`;
}
