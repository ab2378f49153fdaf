// The backend-URL override (seed F6, SPEC §4): kept in localStorage, it points the API client and
// the socket at another vm-orchestrator, which must list this page's origin in
// `security.allowedOrigins`. Cookies do not cross origins, so it goes with a personal API token
// sent as `Authorization: Bearer` (REST) and `auth: {token}` (socket handshake).

export const BACKEND_KEY = 'vmo.backend';

export interface BackendOverride {
  /** An origin, e.g. `https://vmo.example.com` (no path, no trailing slash). */
  url: string;
  token: string;
}

type Store = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

function defaultStore(): Store | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null; // storage disabled by the browser
  }
}

/** The override in force, or null for the same origin (also when the stored value is damaged). */
export function loadBackend(store: Store | null = defaultStore()): BackendOverride | null {
  const text = store?.getItem(BACKEND_KEY);
  if (!text) return null;
  try {
    const value = JSON.parse(text) as Partial<BackendOverride>;
    if (typeof value.url !== 'string' || typeof value.token !== 'string') return null;
    return checkBackend(value.url, value.token).override;
  } catch {
    return null;
  }
}

export function saveBackend(value: BackendOverride, store: Store | null = defaultStore()): void {
  store?.setItem(BACKEND_KEY, JSON.stringify(value));
}

export function clearBackend(store: Store | null = defaultStore()): void {
  store?.removeItem(BACKEND_KEY);
}

export type BackendCheck =
  { override: BackendOverride; problem: null } | { override: null; problem: string };

/** Validates what the settings form holds; the URL becomes its origin. */
export function checkBackend(urlText: string, tokenText: string): BackendCheck {
  const token = tokenText.trim();
  let url: URL;
  try {
    url = new URL(urlText.trim());
  } catch {
    return {
      override: null,
      problem: 'the backend URL is not a URL (e.g. https://vmo.example.com)',
    };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { override: null, problem: 'the backend URL must start with http:// or https://' };
  if (url.username || url.password)
    return { override: null, problem: 'put the token in its own field, not in the URL' };
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash)
    return { override: null, problem: 'give only the origin: scheme, host and port, no path' };
  if (!token)
    return { override: null, problem: 'a personal API token is needed for another backend' };
  if (/\s/.test(token)) return { override: null, problem: 'the token cannot contain spaces' };
  return { override: { url: url.origin, token }, problem: null };
}

/** Where a same-origin path such as `/api/jobs` goes under `backend`. */
export function backendUrl(path: string, backend: BackendOverride | null): string {
  return backend ? backend.url + path : path;
}
