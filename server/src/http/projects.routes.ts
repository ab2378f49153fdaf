import { Router } from 'express';
import type { CatalogService } from '../catalog/catalog.service.js';
import { requireRole } from './middleware/authenticate.js';

export function projectsRoutes(deps: { catalog: CatalogService }): Router {
  const router = Router();
  router.get('/projects', (_req, res) => res.json(deps.catalog.projects()));
  router.get('/projects/:alias/targets', async (req, res) =>
    res.json(await deps.catalog.targets(req.params.alias)),
  );
  router.post('/catalog/refresh', requireRole('operator'), (_req, res) => {
    deps.catalog.refresh();
    res.json(deps.catalog.projects());
  });
  return router;
}
