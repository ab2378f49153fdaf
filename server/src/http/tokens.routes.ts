// Your own personal API tokens (SPEC §2: GET/POST/DELETE /api/tokens); ROUTE_TABLE.tokens.
import { ROUTE_TABLE } from '@vmo/protocol';
import type { Access } from '../auth/permissions.js';
import type { TokensService } from '../auth/tokens.service.js';
import { sourceOf } from './auth.routes.js';
import { mount } from './mount.js';

export function tokensRoutes(deps: { tokens: TokensService; access: Access }) {
  const { tokens } = deps;
  return mount(
    ROUTE_TABLE.tokens,
    {
      listTokens: ({ user }) => tokens.list(user),
      createToken: ({ body, user }, req) => tokens.create(user, body, sourceOf(req)),
      revokeToken: ({ params, user }, req) => tokens.revoke(user, params.id!, sourceOf(req)),
    },
    { access: deps.access, prefix: '/api' },
  );
}
