// Notifications over REST (SPEC §2: /api/notifications, issue 24): the ends of your own jobs not
// seen yet (told by the next page you open); channels, rules and the delivery log.
import type {
  Channel,
  ChannelInput,
  ChannelPatch,
  CreatedChannel,
  Delivery,
  DeliveryPage,
  Job,
  NotificationRule,
  NotificationRuleInput,
  NotificationRulePatch,
} from '@vmo/protocol';
import { ROUTES } from './routes.js';
import { call } from './client.js';

const R = ROUTES.notifications;

export const fetchUnseen = (): Promise<Job[]> => call(R.listUnseen, {});
export const markSeen = (jobIds: string[]): Promise<void> =>
  call(R.markSeen, { body: { jobIds } }) as Promise<void>;

export const fetchChannels = (): Promise<Channel[]> => call(R.listChannels, {});
export const createChannel = (body: ChannelInput): Promise<CreatedChannel> =>
  call(R.createChannel, { body });
export const updateChannel = (id: string, body: ChannelPatch): Promise<Channel> =>
  call(R.updateChannel, { params: { id }, body });
export const deleteChannel = (id: string): Promise<void> =>
  call(R.deleteChannel, { params: { id } }) as Promise<void>;
export const testChannel = (id: string): Promise<{ ok: boolean; error: string | null }> =>
  call(R.testChannel, { params: { id } });

export const fetchRules = (): Promise<NotificationRule[]> => call(R.listRules, {});
export const createRule = (body: NotificationRuleInput): Promise<NotificationRule> =>
  call(R.createRule, { body });
export const updateRule = (id: string, body: NotificationRulePatch): Promise<NotificationRule> =>
  call(R.updateRule, { params: { id }, body });
export const deleteRule = (id: string): Promise<void> =>
  call(R.deleteRule, { params: { id } }) as Promise<void>;

export const fetchDeliveries = (
  query: { channelId?: string; before?: string; limit?: number } = {},
): Promise<DeliveryPage> => call(R.listDeliveries, { query });
export const resendDelivery = (id: string): Promise<Delivery> =>
  call(R.resendDelivery, { params: { id } });
