// Notifications (SPEC §2: /api/notifications); ROUTE_TABLE.notifications: the ends of your own
// jobs not seen yet, and the channels, rules and delivery log of issue 24.
import { ROUTE_TABLE } from '@vmo/protocol';
import type { Access } from '../auth/permissions.js';
import type { NotificationsService } from '../notifications/notifications.service.js';
import type { UnseenEnds } from '../notifications/unseen.js';
import { sourceOf } from './auth.routes.js';
import { mount } from './mount.js';

export function notificationsRoutes(deps: {
  unseen: UnseenEnds;
  notifications: NotificationsService;
  access: Access;
}) {
  const { unseen, notifications: n } = deps;
  return mount(
    ROUTE_TABLE.notifications,
    {
      listUnseen: ({ user }) => unseen.list(user),
      markSeen: ({ body, user }) => unseen.seen(user, body.jobIds),
      listChannels: () => n.listChannels(),
      createChannel: ({ body, user }, req) => n.createChannel(body, user, sourceOf(req)),
      updateChannel: ({ params, body, user }, req) =>
        n.updateChannel(params.id!, body, user, sourceOf(req)),
      deleteChannel: ({ params, user }, req) => n.deleteChannel(params.id!, user, sourceOf(req)),
      testChannel: ({ params, user }) => n.testChannel(params.id!, user),
      listRules: ({ user }) => n.listRules(user),
      createRule: ({ body, user }, req) => n.createRule(body, user, sourceOf(req)),
      updateRule: ({ params, body, user }, req) =>
        n.updateRule(params.id!, body, user, sourceOf(req)),
      deleteRule: ({ params, user }, req) => n.deleteRule(params.id!, user, sourceOf(req)),
      listDeliveries: ({ query }) => n.listDeliveries(query),
      resendDelivery: ({ params, user }, req) => n.resend(params.id!, user, sourceOf(req)),
    },
    { access: deps.access, prefix: '/api' },
  );
}
