// Search across every job's output (SPEC §2: GET /api/search, issue 25).
import type { SearchPage } from '@vmo/protocol';
import { ROUTES } from './routes.js';
import { call } from './client.js';

export interface SearchRequest {
  q: string;
  regex?: boolean;
  caseSensitive?: boolean;
  status?: string;
  project?: string;
  user?: string;
  before?: string;
}

export const searchOutput = (r: SearchRequest): Promise<SearchPage> =>
  call(ROUTES.search.search, {
    query: {
      q: r.q,
      ...(r.regex ? { regex: '1' as const } : {}),
      ...(r.caseSensitive ? { case: '1' as const } : {}),
      ...(r.status ? { status: r.status as never } : {}),
      ...(r.project ? { project: r.project } : {}),
      ...(r.user ? { user: r.user } : {}),
      ...(r.before ? { before: r.before } : {}),
      limit: 20,
    },
  });

/** The search's state in a URL query (shareable, and kept across a reload). */
export function searchFromUrl(params: URLSearchParams): SearchRequest {
  return {
    q: params.get('q') ?? '',
    regex: params.get('regex') === '1',
    caseSensitive: params.get('case') === '1',
    status: params.get('status') ?? '',
    project: params.get('project') ?? '',
    user: params.get('user') ?? '',
  };
}

export function searchToUrl(r: SearchRequest): string {
  const params = new URLSearchParams();
  if (r.q) params.set('q', r.q);
  if (r.regex) params.set('regex', '1');
  if (r.caseSensitive) params.set('case', '1');
  if (r.status) params.set('status', r.status);
  if (r.project) params.set('project', r.project);
  if (r.user) params.set('user', r.user);
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** A line cut into plain and matched parts by its [start, end) ranges. */
export function highlight(
  text: string,
  ranges: readonly number[][],
): { text: string; hit: boolean }[] {
  const parts: { text: string; hit: boolean }[] = [];
  let at = 0;
  for (const [start, end] of [...ranges].sort((a, b) => a[0]! - b[0]!)) {
    const a = Math.max(at, start!);
    const b = Math.min(text.length, end!);
    if (b <= a) continue;
    if (a > at) parts.push({ text: text.slice(at, a), hit: false });
    parts.push({ text: text.slice(a, b), hit: true });
    at = b;
  }
  if (at < text.length || parts.length === 0) parts.push({ text: text.slice(at), hit: false });
  return parts;
}
