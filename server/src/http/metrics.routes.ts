// GET /metrics: Prometheus' text format, for signed-in users (a session or, for a scraper, a token).
import { ROUTE_TABLE } from '@vmo/protocol';
import type { RequestHandler } from 'express';
import type { AuthService } from '../auth/auth.service.js';
import type { Access } from '../auth/permissions.js';
import type { TokensService } from '../auth/tokens.service.js';
import type { Metrics } from '../metrics/metrics.js';
import { loadUser } from './middleware/authenticate.js';
import { ANSWERED, mount } from './mount.js';

export function metricsRoutes(deps: {
  metrics: Metrics;
  auth: AuthService;
  tokens: TokensService;
  session: RequestHandler;
  access: Access;
}) {
  const { metrics } = ROUTE_TABLE.meta;
  return mount(
    { metrics },
    {
      metrics: {
        // Outside /api: this route finds its caller itself.
        authenticate: [deps.session, loadUser(deps.auth, deps.tokens)],
        handle: async (_input, _req, res) => {
          const body = await deps.metrics.render();
          res.setHeader('Content-Type', deps.metrics.contentType());
          res.setHeader('Cache-Control', 'no-store');
          res.send(body);
          return ANSWERED;
        },
      },
    },
    { access: deps.access },
  );
}
