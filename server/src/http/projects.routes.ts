import { Router } from 'express';
import type { Project } from '../catalog/projects.js';

export function projectsRoutes(deps: { projects: () => Project[] }): Router {
  const router = Router();
  router.get('/projects', (_req, res) => {
    res.json(deps.projects());
  });
  return router;
}
