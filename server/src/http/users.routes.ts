// Admin-only user management (SPEC §2: GET/POST/PATCH/DELETE /api/users).
import { Router } from 'express';
import { CreateUser, UpdateUser } from '@vmo/protocol';
import type { UsersService } from '../auth/users.service.js';
import { sourceOf } from './auth.routes.js';
import type { Access } from '../auth/permissions.js';
import { allow } from './middleware/authenticate.js';
import { validate } from './middleware/validate.js';

export function usersRoutes(deps: { users: UsersService; access: Access }): Router {
  const { users } = deps;
  const router = Router();
  router.use('/users', allow(deps.access, 'users.manage'));
  router.get('/users', async (_req, res) => res.json(await users.list()));
  router.post('/users', validate(CreateUser), async (req, res) =>
    res.status(201).json(await users.create(req.body, req.user!, sourceOf(req))),
  );
  router.patch('/users/:id', validate(UpdateUser), async (req, res) =>
    res.json(await users.update(String(req.params.id), req.body, req.user!, sourceOf(req))),
  );
  router.delete('/users/:id', async (req, res) => {
    await users.delete(String(req.params.id), req.user!, sourceOf(req));
    res.status(204).end();
  });
  return router;
}
