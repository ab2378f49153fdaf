// Schedules over REST (SPEC §2: /api/schedules).
import type {
  Schedule,
  ScheduleDetail,
  ScheduleInput,
  SchedulePatch,
  StartedJob,
} from '@vmo/protocol';
import { ROUTES } from './routes.js';
import { call } from './client.js';

const R = ROUTES.schedules;

export const fetchSchedules = (): Promise<Schedule[]> => call(R.listSchedules, {});
export const fetchSchedule = (id: string): Promise<ScheduleDetail> =>
  call(R.getSchedule, { params: { id } });
export const createSchedule = (body: ScheduleInput): Promise<Schedule> =>
  call(R.createSchedule, { body });
export const updateSchedule = (id: string, body: SchedulePatch): Promise<Schedule> =>
  call(R.updateSchedule, { params: { id }, body });
export const deleteSchedule = (id: string): Promise<void> =>
  call(R.deleteSchedule, { params: { id } }) as Promise<void>;
export const runSchedule = (id: string): Promise<StartedJob> =>
  call(R.runSchedule, { params: { id } });
