// How the notifications pages name kinds, outcomes and rules.
import type { ChannelKind, NotificationRule, Outcome } from '@vmo/protocol';

export const KIND_LABEL: Record<ChannelKind, string> = {
  webhook: 'Webhook (signed JSON)',
  slack: 'Slack-compatible webhook',
  email: 'E-mail (SMTP)',
};

export const OUTCOMES: readonly Outcome[] = [
  'failed',
  'recovered',
  'succeeded',
  'canceled',
  'interrupted',
];

export const OUTCOME_LABEL: Record<Outcome, string> = {
  failed: 'fails',
  recovered: 'recovers (first success after a failure)',
  succeeded: 'succeeds',
  canceled: 'is canceled',
  interrupted: 'is interrupted',
};

/** "my jobs of project shop, target deploy, in prod" — what a rule listens to, in words. */
export function describeMatch(
  match: NotificationRule['match'],
  scheduleName?: (id: string) => string | undefined,
): string {
  const parts: string[] = [];
  if (match.project) parts.push(`project ${match.project}`);
  if (match.target) parts.push(`target or preset ${match.target}`);
  if (match.environment) parts.push(`in ${match.environment}`);
  if (match.scheduleId)
    parts.push(`started by schedule ${scheduleName?.(match.scheduleId) ?? match.scheduleId}`);
  const whose = match.mine ? 'my jobs' : 'every job';
  return parts.length > 0 ? `${whose}: ${parts.join(', ')}` : whose;
}
