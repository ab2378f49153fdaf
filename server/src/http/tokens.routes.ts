// Your own personal API tokens (SPEC §2: GET/POST/DELETE /api/tokens); any role.
import { Router } from 'express';
import { CreateToken } from '@vmo/protocol';
import type { TokensService } from '../auth/tokens.service.js';
import { sourceOf } from './auth.routes.js';
import { validate } from './middleware/validate.js';

export function tokensRoutes(deps: { tokens: TokensService }): Router {
  const { tokens } = deps;
  const router = Router();
  router.get('/tokens', async (req, res) => res.json(await tokens.list(req.user!)));
  router.post('/tokens', validate(CreateToken), async (req, res) =>
    res.status(201).json(await tokens.create(req.user!, req.body, sourceOf(req))),
  );
  router.delete('/tokens/:id', async (req, res) => {
    await tokens.revoke(req.user!, String(req.params.id), sourceOf(req));
    res.status(204).end();
  });
  return router;
}
