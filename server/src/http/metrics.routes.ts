// GET /metrics: Prometheus' text format, for signed-in users (a session or, for a scraper, a token).
import { Router, type RequestHandler } from 'express';
import type { AuthService } from '../auth/auth.service.js';
import type { TokensService } from '../auth/tokens.service.js';
import type { Metrics } from '../metrics/metrics.js';
import { loadUser, requireAuth } from './middleware/authenticate.js';

export function metricsRoutes(deps: {
  metrics: Metrics;
  auth: AuthService;
  tokens: TokensService;
  session: RequestHandler;
}): Router {
  const router = Router();
  router.get(
    '/metrics',
    deps.session,
    loadUser(deps.auth, deps.tokens),
    requireAuth,
    async (_req, res) => {
      const body = await deps.metrics.render();
      res.setHeader('Content-Type', deps.metrics.contentType());
      res.setHeader('Cache-Control', 'no-store');
      res.send(body);
    },
  );
  return router;
}
