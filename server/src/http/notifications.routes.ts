// The ends of your own jobs not seen yet (issue 24); ROUTE_TABLE.notifications.
import { ROUTE_TABLE } from '@vmo/protocol';
import type { Access } from '../auth/permissions.js';
import type { UnseenEnds } from '../notifications/unseen.js';
import { mount } from './mount.js';

export function notificationsRoutes(deps: { unseen: UnseenEnds; access: Access }) {
  const { unseen } = deps;
  return mount(
    ROUTE_TABLE.notifications,
    {
      listUnseen: ({ user }) => unseen.list(user),
      markSeen: ({ body, user }) => unseen.seen(user, body.jobIds),
    },
    { access: deps.access, prefix: '/api' },
  );
}
