// Triggers over REST (SPEC §2: /api/triggers), for admins. Their use is from other systems.
import type { CreatedTrigger, Trigger, TriggerInput } from '@vmo/protocol';
import { ROUTES } from './routes.js';
import { call } from './client.js';

const R = ROUTES.triggers;

export const fetchTriggers = (): Promise<Trigger[]> => call(R.listTriggers, {});
export const createTrigger = (body: TriggerInput): Promise<CreatedTrigger> =>
  call(R.createTrigger, { body });
export const deleteTrigger = (id: string): Promise<void> =>
  call(R.deleteTrigger, { params: { id } }) as Promise<void>;
