import { describe, expect, it } from 'vitest';
import { ROUTE_PATHS, ROUTE_TABLE, type ApiRoute } from '@vmo/protocol';

describe('ROUTE_PATHS (the web bundle’s zod-free copy of the route table)', () => {
  it('has every route of ROUTE_TABLE with its method and path: else run `npm run routes -w @vmo/protocol`', () => {
    const fromTable = Object.fromEntries(
      Object.entries(ROUTE_TABLE).map(([group, routes]) => [
        group,
        Object.fromEntries(
          Object.entries(routes as Record<string, ApiRoute>).map(([name, r]) => [
            name,
            { method: r.method, path: r.path },
          ]),
        ),
      ]),
    );
    expect(ROUTE_PATHS).toEqual(fromTable);
  });
});
