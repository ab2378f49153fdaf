// GET /api/openapi.json: the API's description, public like /api/health (it holds no data), built
// on the first request and kept.
import { ROUTE_TABLE } from '@vmo/protocol';
import type { Access } from '../auth/permissions.js';
import { ANSWERED, mount } from './mount.js';
import { openApiDocument } from './openapi.js';

export function openApiRoutes(deps: { version: string; access: Access }) {
  let document: string | undefined;
  const { openApi } = ROUTE_TABLE.meta;
  return mount(
    { openApi },
    {
      openApi: (_input, _req, res) => {
        document ??= JSON.stringify(openApiDocument({ version: deps.version }));
        // Revalidated (ETag) rather than cached: an upgraded server describes a different API.
        res.setHeader('Cache-Control', 'no-cache');
        res.type('application/json').send(document);
        return ANSWERED;
      },
    },
    { access: deps.access, prefix: '/api' },
  );
}
