// The ends of your own jobs not seen yet (SPEC §2, issue 24): told by the next page you open.
import type { Job } from '@vmo/protocol';
import { ROUTE_TABLE } from '@vmo/protocol';
import { call } from './client.js';

const R = ROUTE_TABLE.notifications;

export const fetchUnseen = (): Promise<Job[]> => call(R.listUnseen, {});
export const markSeen = (jobIds: string[]): Promise<void> =>
  call(R.markSeen, { body: { jobIds } }) as Promise<void>;
