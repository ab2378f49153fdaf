// Admin-only user management (SPEC §2: GET/POST/PATCH/DELETE /api/users); ROUTE_TABLE.users.
import { ROUTE_TABLE } from '@vmo/protocol';
import type { Access } from '../auth/permissions.js';
import type { UsersService } from '../auth/users.service.js';
import { sourceOf } from './auth.routes.js';
import { mount } from './mount.js';

export function usersRoutes(deps: { users: UsersService; access: Access }) {
  const { users } = deps;
  return mount(
    ROUTE_TABLE.users,
    {
      listUsers: () => users.list(),
      createUser: ({ body, user }, req) => users.create(body, user, sourceOf(req)),
      updateUser: ({ params, body, user }, req) =>
        users.update(params.id!, body, user, sourceOf(req)),
      deleteUser: ({ params, user }, req) => users.delete(params.id!, user, sourceOf(req)),
    },
    { access: deps.access, prefix: '/api' },
  );
}
