// Kysely's view of the tables created by the migrations in ./migrations.
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { FireOutcome, Missed, Overlap, ScheduleRun, StoredRequest } from '@vmo/protocol';
import type { ProcessMark } from '../process/leftovers.js';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<
  Date | null,
  Date | string | null | undefined,
  Date | string | null
>;
type Json<T> = ColumnType<T, string | T, string | T>;

export interface UsersTable {
  id: Generated<string>;
  username: string;
  password_hash: string | null;
  role: 'viewer' | 'operator' | 'admin';
  disabled: Generated<boolean>;
  created_at: Generated<Date>;
  /** `oidc`: signs in through the identity provider only (no password_hash). */
  provider: Generated<'local' | 'oidc'>;
  /** An SSO user's `<issuer> <sub>`: how a sign-in finds it again, whatever its name now. */
  subject: string | null;
  /** An SSO user's groups at its last sign-in. */
  sso_groups: string[] | null;
}

export interface SessionsTable {
  sid: string;
  sess: Json<Record<string, unknown>>;
  expire: Timestamp;
}

/** A single sign-on session's refresh token (sealed), for checking its groups between sign-ins. */
export interface SsoGrantsTable {
  sid: string;
  user_id: string;
  refresh_token: string;
  checked_at: Generated<Date>;
}

export interface LoginLinksTable {
  token_hash: string;
  user_id: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

export interface TokensTable {
  id: Generated<string>;
  user_id: string;
  name: string;
  token_hash: string;
  created_at: Generated<Date>;
  expires_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
}

export interface AuditLogTable {
  id: number;
  ts: Generated<Date>;
  user_id: string | null;
  username: string | null;
  action: string;
  target: string | null;
  source: string | null;
  details: Json<Record<string, unknown>> | null;
  /** The hash of the entry before it (audit/chain.ts), or the anchor's. */
  prev_hash: string;
  hash: string;
}

/** The chain's one row: its head (the last entry) and its anchor (the last one retention deleted). */
export interface AuditChainTable {
  one: Generated<boolean>;
  head_id: number;
  head_hash: string;
  anchor_id: Generated<number>;
  anchor_hash: Generated<string>;
}

/** Shipping the audit trail to its backup: every entry up to shipped_id is there. */
export interface AuditBackupTable {
  one: Generated<boolean>;
  shipped_id: Generated<number>;
  attempts: Generated<number>;
  last_error: string | null;
  updated_at: Generated<Date>;
}

export interface ProjectsTable {
  alias: string;
  dir: string;
  source: 'config' | 'mkcli';
  available: boolean;
  error: string | null;
  updated_at: Generated<Date>;
}

export interface VmsTable {
  id: string;
  name: string;
  environment: string;
  host: string;
  user: string | null;
  ssh_alias: string | null;
  updated_at: Generated<Date>;
}

export interface JobsTable {
  id: Generated<string>;
  type: 'stream' | 'ssh' | 'terminal' | 'group';
  status: 'queued' | 'running' | 'success' | 'failed' | 'canceled' | 'interrupted' | 'spawned';
  project: string | null;
  host: string | null;
  target: string | null;
  args: Json<Record<string, string>>;
  preset: string | null;
  command: string;
  argv: Json<string[]>;
  exit_code: number | null;
  signal: string | null;
  created_at: Generated<Date>;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  requested_by: string | null;
  parent_id: string | null;
  /** The last seq of the contiguous run of committed output: readers never read past it. */
  last_seq: Generated<number>;
  /** Seqs committed beyond last_seq, waiting for a batch still in flight (migration 0014). */
  seq_ahead: Generated<string>;
  output_bytes: ColumnType<string, number | bigint | undefined, number | bigint>;
  truncated: Generated<boolean>;
  instance_id: string | null;
  /** Its process group leader (runners/leftovers.ts); null for groups and jobs from before 0006. */
  process: Json<ProcessMark> | null;
  /** What it was started with (protocol StoredRequest); null for jobs from before 0007. */
  request: Json<StoredRequest> | null;
  /** The vm-config environment it ran in (or fanned out over); null elsewhere and before 0008. */
  environment: string | null;
  /** The VM it ran on, `<environment>/<name>`; null elsewhere and before 0008. */
  vm: string | null;
  /** What started it (0009): a user, a re-run of trigger_id, schedule trigger_id, trigger trigger_id. */
  trigger_kind: ColumnType<
    'manual' | 'rerun' | 'schedule' | 'trigger',
    'manual' | 'rerun' | 'schedule' | 'trigger' | undefined,
    never
  >;
  trigger_id: ColumnType<string | null, string | null | undefined, never>;
  schedule_fire_id: ColumnType<string | null, string | null | undefined, never>;
}

export interface SchedulesTable {
  id: Generated<string>;
  name: string;
  cron: string | null;
  every_seconds: number | null;
  timezone: string;
  anchor: Timestamp;
  run: Json<ScheduleRun>;
  overlap: Overlap;
  missed: Missed;
  enabled: Generated<boolean>;
  owner_id: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  next_fire_at: NullableTimestamp;
}

export interface UnseenEndsTable {
  user_id: string;
  job_id: string;
  created_at: Generated<Date>;
}

export interface TriggersTable {
  id: Generated<string>;
  name: string;
  run: Json<ScheduleRun>;
  owner_id: string | null;
  secret_hash: string;
  created_at: Generated<Date>;
  last_used_at: NullableTimestamp;
  uses: Generated<number>;
}

export interface ScheduleFiresTable {
  id: Generated<string>;
  schedule_id: string;
  fire_at: Timestamp;
  outcome: FireOutcome;
  reason: string | null;
  job_id: string | null;
  instance_id: string | null;
  manual: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface JobEventsTable {
  id: Generated<string>;
  job_id: string;
  seq: number;
  ts: Timestamp;
  stream: 'stdout' | 'stderr' | 'system' | 'pty';
  chunk: string;
  chunk_bin: Buffer | null;
  /** Lines started up to and including this event (jobs/line-marks.ts); null before migration 0004. */
  line_end: number | null;
  /** Streams with an unfinished line after this event, one bit each; null before migration 0004. */
  open_streams: number | null;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export interface InstancesTable {
  id: string;
  hostname: string;
  pid: number;
  started_at: Generated<Date>;
  heartbeat_at: Generated<Date>;
}

export interface LoginLimitsTable {
  key: string;
  hits: number;
  reset_at: Timestamp;
}

export type ChannelKindColumn = 'webhook' | 'slack' | 'email';
export type OutcomeColumn = 'failed' | 'succeeded' | 'canceled' | 'interrupted' | 'recovered';

export interface NotificationChannelsTable {
  id: Generated<string>;
  name: string;
  kind: ChannelKindColumn;
  url: string;
  secret: string | null;
  recipients: ColumnType<string[], string[] | undefined, string[]>;
  sender: string | null;
  created_by: string | null;
  created_at: Generated<Date>;
}

export interface NotificationRulesTable {
  id: Generated<string>;
  owner_id: string;
  channel_id: string;
  outcomes: OutcomeColumn[];
  project: string | null;
  target: string | null;
  environment: string | null;
  schedule_id: string | null;
  mine: Generated<boolean>;
  enabled: Generated<boolean>;
  created_at: Generated<Date>;
}

export interface NotificationDeliveriesTable {
  id: Generated<string>;
  channel_id: string;
  rule_id: string | null;
  job_id: string;
  event: OutcomeColumn;
  status: Generated<'pending' | 'sending' | 'sent' | 'failed'>;
  attempts: Generated<number>;
  last_error: string | null;
  next_attempt_at: Generated<Date>;
  lease_until: Date | null;
  claimed_by: string | null;
  give_up_at: Generated<Date>;
  sent_at: Date | null;
  created_at: Generated<Date>;
}

export interface SearchBlocksTable {
  id: Generated<string>;
  job_id: string;
  job_created_at: Date;
  first_line: number;
  line_nos: number[] | null;
  body: string;
}

export interface SearchProgressTable {
  job_id: string;
  seq: Generated<number>;
  state: Json<unknown>;
  done: Generated<boolean>;
  updated_at: Generated<Date>;
}

export interface Database {
  settings: SettingsTable;
  users: UsersTable;
  sessions: SessionsTable;
  sso_grants: SsoGrantsTable;
  login_links: LoginLinksTable;
  tokens: TokensTable;
  audit_log: AuditLogTable;
  audit_chain: AuditChainTable;
  audit_backup: AuditBackupTable;
  projects: ProjectsTable;
  vms: VmsTable;
  jobs: JobsTable;
  job_events: JobEventsTable;
  instances: InstancesTable;
  login_limits: LoginLimitsTable;
  schedules: SchedulesTable;
  schedule_fires: ScheduleFiresTable;
  triggers: TriggersTable;
  unseen_ends: UnseenEndsTable;
  notification_channels: NotificationChannelsTable;
  notification_rules: NotificationRulesTable;
  notification_deliveries: NotificationDeliveriesTable;
  search_blocks: SearchBlocksTable;
  search_progress: SearchProgressTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
