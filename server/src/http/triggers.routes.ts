// Triggers (SPEC §2: /api/triggers); ROUTE_TABLE.triggers. Their use is public: the trigger's
// secret, in the Bearer header, is the credential, checked by the service.
import express from 'express';
import { ROUTE_TABLE } from '@vmo/protocol';
import type { Access } from '../auth/permissions.js';
import type { TriggersService } from '../triggers/triggers.service.js';
import { WAIT_DEFAULT_SECONDS } from '../triggers/triggers.service.js';
import { sourceOf } from './auth.routes.js';
import { ANSWERED, mount } from './mount.js';
import { rejectNulInBody, rejectNulInUrl } from './middleware/odd-input.js';

const { fireTrigger, ...manage } = ROUTE_TABLE.triggers;

/** Admins' routes: list, create, delete (behind the signed-in part of the API). */
export function triggersRoutes(deps: { triggers: TriggersService; access: Access }) {
  const { triggers } = deps;
  return mount(
    manage,
    {
      listTriggers: () => triggers.list(),
      createTrigger: ({ body, user }, req) => triggers.create(body, user, sourceOf(req)),
      deleteTrigger: ({ params, user }, req) => triggers.delete(params.id!, user, sourceOf(req)),
    },
    { access: deps.access, prefix: '/api' },
  );
}

/**
 * A trigger's use: public (mounted before the API's sign-in check), its own secret the credential;
 * the body is parsed here, after the route's method and path matched.
 */
export function triggerUseRoutes(deps: { triggers: TriggersService; access: Access }) {
  const { triggers } = deps;
  return mount(
    { fireTrigger },
    {
      fireTrigger: {
        before: [rejectNulInUrl, express.json({ limit: '64kb' }), rejectNulInBody],
        handle: async ({ params, body, query }, req, res) => {
          const wait = query.wait === '1' || query.wait === 'true';
          const answer = await triggers.fire(
            params.id!,
            req.triggerSecret ?? null,
            body,
            wait ? (query.timeout ?? WAIT_DEFAULT_SECONDS) : null,
            sourceOf(req),
          );
          res.status(answer.status).json(answer.body);
          return ANSWERED;
        },
      },
    },
    { access: deps.access, prefix: '/api' },
  );
}
