// The one way the SPA talks to the REST API: same-origin cookies (or, under the backend-URL
// override, a Bearer token to that origin), JSON both ways (or a file as a Blob), and every failure
// turned into an ApiError carrying the server's {error: {code, message}} (SPEC §2).
import { goto } from '$app/navigation';
import { resolve } from '$app/paths';
import type { ApiRoute, ErrorCode } from '@vmo/protocol';
import type { z } from 'zod';
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

type Fields<S> = S extends z.ZodType ? z.input<S> : never;

/** What a call of the route sends: its path parameters, its query, its body, as declared. */
export type CallInput<R extends ApiRoute> = (R['params'] extends z.ZodObject
  ? { params: Record<keyof Fields<R['params']>, string> }
  : { params?: never }) &
  (R['query'] extends z.ZodObject
    ? { query?: { [K in keyof Fields<R['query']>]?: string | number | null } }
    : { query?: never }) &
  (R['body'] extends z.ZodType ? { body: Fields<R['body']> } : { body?: never });

/** The answer the route declares (its `ok.json`), nothing for an empty one. */
export type Answer<R extends ApiRoute> = R['ok'] extends { json: infer S extends z.ZodType }
  ? z.output<S>
  : void;

/** Development and tests hold every answer to the route's schema, so a drift fails loudly there. */
const checkAnswers = import.meta.env.DEV || import.meta.env.MODE === 'test';

/**
 * Calls one route of the protocol's ROUTE_TABLE: the method, the path and the types of what goes
 * and comes back are the declaration's, so no call site names a URL or casts an answer.
 */
export async function call<R extends ApiRoute>(
  route: R,
  input: CallInput<R>,
  options: Omit<RequestOptions, 'method' | 'body'> = {},
): Promise<Answer<R>> {
  const { params, query, body } = input as {
    params?: Record<string, string>;
    query?: Record<string, string | number | null | undefined>;
    body?: unknown;
  };
  const path = route.path.replace(/:(\w+)/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined) throw new TypeError(`${route.path} needs its :${name}`);
    return encodeURIComponent(value);
  });
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {}))
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const url = search.toString() ? `${path}?${search.toString()}` : path;
  const answer = await request<unknown>(url, { ...options, method: route.method, body });
  if (checkAnswers) {
    const schema = await declaredAnswer(route);
    if (schema) return schema.parse(answer) as Answer<R>;
  }
  return answer as Answer<R>;
}

/**
 * The answer's schema, from the full route table (development and tests only: the routes the web
 * holds carry no schema, and a production build leaves this out, zod with it).
 */
async function declaredAnswer(route: ApiRoute): Promise<z.ZodType | undefined> {
  if (route.ok?.json) return route.ok.json;
  const { tableRoutes } = await import('@vmo/protocol');
  return tableRoutes().find((r) => r.method === route.method && r.path === route.path)?.ok.json;
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
