// The one way the SPA talks to the REST API: same-origin cookies (or, under the backend-URL
// override, a Bearer token to that origin), JSON both ways (or a file as a Blob), and every failure
// turned into an ApiError carrying the server's {error: {code, message}} (SPEC §2).
import { goto } from '$app/navigation';
import { resolve } from '$app/paths';
import type { ErrorCode } from '@vmo/protocol';
import { backendUrl, loadBackend } from '$lib/settings/backend.js';
import { loginPath } from './login-redirect.js';

/** Codes the client makes up itself when there is no server answer to quote. */
export type ClientErrorCode = 'NETWORK' | 'BAD_RESPONSE';

export class ApiError extends Error {
  override name = 'ApiError';

  constructor(
    readonly status: number,
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
    /** The parsed response body, for the rare endpoint whose error answer carries data. */
    readonly body: unknown = null,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  body?: unknown;
  /** SvelteKit's `fetch` inside load functions; the global one elsewhere. */
  fetch?: typeof fetch;
  /**
   * A 401 sends the user to /login by default. Sign-in itself and the session probe turn this
   * off: there a 401 is an answer to show or to handle, not an expired session.
   */
  redirectOn401?: boolean;
  signal?: AbortSignal;
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await answered(path, options, 'application/json');
  return (response.status === 204 ? undefined : await readJson(response)) as T;
}

/** A GET whose answer is a file (e.g. a job's log), read whole into a Blob. */
export async function requestBlob(
  path: string,
  options: Omit<RequestOptions, 'method' | 'body'> = {},
): Promise<Blob> {
  const response = await answered(path, options, '*/*');
  try {
    return await response.blob();
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === 'AbortError') throw cause;
    throw new ApiError(0, 'NETWORK', 'the download broke off before its end; try again');
  }
}

/** The response when it is a success; otherwise the ApiError it stands for (and a 401's redirect). */
async function answered(path: string, options: RequestOptions, accept: string): Promise<Response> {
  const { method = 'GET', body, fetch: doFetch = fetch, redirectOn401 = true, signal } = options;
  const response = await send(doFetch, path, { method, body, signal, accept });
  if (response.ok) return response;

  const error = await toApiError(response);
  if (error.status === 401 && redirectOn401) sendToLogin();
  throw error;
}

async function send(
  doFetch: typeof fetch,
  path: string,
  {
    method,
    body,
    signal,
    accept,
  }: Pick<RequestOptions, 'method' | 'body' | 'signal'> & { accept: string },
): Promise<Response> {
  const headers: Record<string, string> = { accept };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const backend = loadBackend();
  if (backend) headers.authorization = `Bearer ${backend.token}`;
  try {
    return await doFetch(backendUrl(path, backend), {
      method,
      headers,
      // Another origin gets the token only: never this origin's cookies.
      credentials: backend ? 'omit' : 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === 'AbortError') throw cause;
    const where = backend ? `the backend at ${backend.url}` : 'the server';
    throw new ApiError(0, 'NETWORK', `cannot reach ${where}; check that it is running`);
  }
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    throw new ApiError(response.status, 'BAD_RESPONSE', 'the server sent a reply that is not JSON');
  }
}

/** Quotes the server's own code and message; a proxy's HTML error page gets a generic one. */
async function toApiError(response: Response): Promise<ApiError> {
  const body: unknown = await response.json().catch(() => null);
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (error && typeof error.code === 'string' && typeof error.message === 'string') {
    return new ApiError(response.status, error.code as ErrorCode, error.message, body);
  }
  const reason = response.statusText ? ` ${response.statusText}` : '';
  const message = `the server answered ${response.status}${reason}`;
  return new ApiError(response.status, 'BAD_RESPONSE', message, body);
}

function sendToLogin(): void {
  const { pathname, search, hash } = window.location;
  // Signing in here would not help a refused token: the layout says so instead.
  if (pathname === '/login' || loadBackend()) return;
  void goto(resolve(loginPath(pathname + search + hash)), { replaceState: true });
}

/** A sentence for the UI from anything a request can throw. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return 'something went wrong';
}
