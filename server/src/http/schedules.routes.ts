// Schedules (SPEC §2: /api/schedules); ROUTE_TABLE.schedules.
import { ROUTE_TABLE } from '@vmo/protocol';
import type { Access } from '../auth/permissions.js';
import type { SchedulesService } from '../schedules/schedules.service.js';
import { sourceOf } from './auth.routes.js';
import { mount } from './mount.js';

export function schedulesRoutes(deps: { schedules: SchedulesService; access: Access }) {
  const { schedules } = deps;
  return mount(
    ROUTE_TABLE.schedules,
    {
      listSchedules: ({ user }) => schedules.list(user),
      createSchedule: ({ body, user }, req) => schedules.create(body, user, sourceOf(req)),
      getSchedule: ({ params, user }) => schedules.get(params.id!, user),
      updateSchedule: ({ params, body, user }, req) =>
        schedules.update(params.id!, body, user, sourceOf(req)),
      deleteSchedule: ({ params, user }, req) => schedules.delete(params.id!, user, sourceOf(req)),
      runSchedule: ({ params, user }, req) => schedules.runNow(params.id!, user, sourceOf(req)),
      nextRuns: ({ params, query }) => schedules.next(params.id!, query.count),
    },
    { access: deps.access, prefix: '/api' },
  );
}
