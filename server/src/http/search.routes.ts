// Search across every job's output (SPEC §2: GET /api/search, issue 25); ROUTE_TABLE.search.
import { ROUTE_TABLE } from '@vmo/protocol';
import type { Access } from '../auth/permissions.js';
import type { SearchService } from '../search/search.service.js';
import { mount } from './mount.js';

export function searchRoutes(deps: { search: SearchService; access: Access }) {
  return mount(
    ROUTE_TABLE.search,
    { search: ({ query, user }) => deps.search.search(query, user) },
    { access: deps.access, prefix: '/api' },
  );
}
