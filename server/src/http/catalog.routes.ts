import { Router } from 'express';
import {
  TargetsQuery,
  type CatalogRefreshed,
  type TargetsQuery as TargetsQueryT,
} from '@vmo/protocol';
import type { CatalogService } from '../catalog/catalog.service.js';
import type { JobQueries } from '../jobs/job.queries.js';
import type { RemoteService } from '../remote/remote.service.js';
import type { Access } from '../auth/permissions.js';
import { allow } from './middleware/authenticate.js';
import { validate } from './middleware/validate.js';

export function catalogRoutes(deps: {
  catalog: CatalogService;
  remote: RemoteService;
  queries: JobQueries;
  access: Access;
}): Router {
  const { catalog } = deps;
  const router = Router();
  router.get('/projects', async (_req, res) => res.json(await catalog.states(deps.remote)));
  router.get('/projects/:alias/targets', validate(TargetsQuery, 'query'), async (req, res) => {
    const alias = String(req.params.alias);
    const { host } = req.validated as TargetsQueryT;
    if (host) return res.json(await deps.remote.projectTargets(catalog.project(alias), host));
    res.json(await catalog.targets(alias));
  });
  router.get('/projects/:alias/stats', async (req, res) =>
    res.json(await deps.queries.targetStats(catalog.project(req.params.alias).alias)),
  );
  router.get('/hosts', (_req, res) => res.json(catalog.hosts()));
  router.get('/hosts/:alias/containers', async (req, res) =>
    res.json(await deps.remote.containers(req.params.alias)),
  );
  router.get('/vms', (_req, res) => res.json(catalog.vms()));
  router.get('/presets', (_req, res) =>
    res.json(catalog.presets().map(({ name, params, follow }) => ({ name, params, follow }))),
  );
  router.post('/catalog/refresh', allow(deps.access, 'catalog.refresh'), async (_req, res) => {
    await catalog.refresh();
    deps.remote.forget();
    res.json({
      projects: catalog.projects().length,
      hosts: catalog.hosts().length,
      vms: catalog.vms().length,
      problems: catalog.vmProblems(),
    } satisfies CatalogRefreshed);
  });
  return router;
}
