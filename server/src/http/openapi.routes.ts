// GET /api/openapi.json: the API's description, public like /api/health (it holds no data), built
// on the first request and kept.
import { Router } from 'express';
import { openApiDocument } from './openapi.js';

export function openApiRoutes(deps: { version: string }): Router {
  const router = Router();
  let document: string | undefined;
  router.get('/openapi.json', (_req, res) => {
    document ??= JSON.stringify(openApiDocument({ version: deps.version }));
    // Revalidated (ETag) rather than cached: an upgraded server describes a different API.
    res.setHeader('Cache-Control', 'no-cache');
    res.type('application/json').send(document);
  });
  return router;
}
