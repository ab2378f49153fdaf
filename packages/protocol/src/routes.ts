// Every HTTP route the server answers, declared once: method, path, who may call it (a can()
// action), and the schemas of its input and answer. The server's routers are mounted from it
// (server/src/http/mount.ts: routing, authorization, validation), GET /api/openapi.json is built
// from it, and the web's API client is typed by it.
import { z } from 'zod';
import { ROLE_RANK, type Role } from './auth.js';
import { decide, type GlobalAction } from './permissions.js';
import {
  ApiToken,
  AuditExportQuery,
  AuditPage,
  AuditQuery,
  AuditVerify,
  ChangePassword,
  CreateToken,
  CreateUser,
  CreatedToken,
  ManagedUser,
  TokenId,
  UpdateUser,
  UserId,
} from './admin.js';
import { AuthProviders, LoginRequest, LogoutRedirect, OidcLoginQuery } from './auth.js';
import {
  CatalogRefreshed,
  ContainerNames,
  HostInfo,
  PresetInfo,
  ProjectStats,
  Reachability,
  TargetsQuery,
  VmInfo,
} from './catalog.js';
import { Health } from './health.js';
import {
  Alias,
  CancelJob,
  CanceledJob,
  EventPage,
  EventsQuery,
  HostAlias,
  Job,
  JobId,
  JobPage,
  JobWithChildren,
  JobsQuery,
  MarkSeen,
  ProjectInfo,
  RerunJob,
  StartFanout,
  StartSsh,
  StartStream,
  StartTerminal,
  StartedJob,
  TailPage,
  TailQuery,
  TargetInfo,
} from './jobs.js';
import { Me } from './permissions.js';
import { SearchPage, SearchQuery } from './search.js';
import {
  Channel,
  ChannelId,
  ChannelInput,
  ChannelPatch,
  CreatedChannel,
  DeliveriesQuery,
  Delivery,
  DeliveryId,
  DeliveryPage,
  NotificationRule,
  NotificationRuleId,
  NotificationRuleInput,
  NotificationRulePatch,
} from './notifications.js';
import {
  CreatedTrigger,
  FireTrigger,
  FireTriggerQuery,
  Trigger,
  TriggerId,
  TriggerInput,
  TriggerRun,
} from './triggers.js';
import {
  NextRunsQuery,
  Schedule,
  ScheduleDetail,
  ScheduleId,
  ScheduleInput,
  SchedulePatch,
} from './schedules.js';
import type { ErrorCode } from './errors.js';

/** `public`: no sign-in; `viewer`: any signed-in user; `operator`, `admin`: that role or above. */
export type Access = 'public' | Role;

/**
 * Who may call a route: anyone (`public`), anyone signed in (`signedIn`), or whoever can() do that
 * action; the service asks can() again about the object itself (a job, a user).
 */
export type Rule = 'public' | 'signedIn' | GlobalAction;

export interface Success {
  status: 200 | 201 | 202 | 204 | 302 | 303;
  description: string;
  /** The JSON body. */
  json?: z.ZodType;
  /** A body of another media type (no schema). */
  media?: string;
}

export interface ApiRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** As Express has it, from the root: `/api/jobs/:id`. */
  path: string;
  summary: string;
  allow: Rule;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** A request without a body is read as `{}` (a re-run: none re-runs the stored request as it was). */
  optionalBody?: true;
  ok: Success;
  /** Other successful answers it may give (logout: 200 with a redirect for a single sign-on user). */
  also?: Success[];
  /** Codes the route answers besides those its access, method, body and query imply (impliedErrors). */
  errors?: ErrorCode[];
  /** Fields an error body carries besides `error`, by code: health's 503 is a Health as well. */
  errorFields?: Partial<Record<ErrorCode, z.ZodObject>>;
}

export interface TableRoute extends ApiRoute {
  /** The operationId. */
  id: string;
  tag: string;
  /** The lowest role its rule lets in (for the API description). */
  access: Access;
}

/** The lowest role a rule lets in, asked of can() itself, with every optional feature on. */
export function roleOf(rule: Rule): Access {
  if (rule === 'public') return 'public';
  if (rule === 'signedIn') return 'viewer';
  const policy = { allowAdHoc: true, hostShells: 'operator' as const };
  const roles = (Object.keys(ROLE_RANK) as Role[]).sort((a, b) => ROLE_RANK[a] - ROLE_RANK[b]);
  const role = roles.find((r) => decide({ id: '', role: r, policy }, rule).allowed);
  if (!role) throw new TypeError(`no role may ${rule}`);
  return role;
}

const json = <S extends z.ZodType>(
  schema: S,
  description: string,
  status: 200 | 201 | 202 = 200,
) => ({ status, json: schema, description });
const noContent = (description: string): Success => ({ status: 204, description });

const jobParams = z.object({ id: JobId });
/** What each way of starting a job can answer; a re-run, any of them. */
const STREAM_ERRORS: ErrorCode[] = [
  'BAD_ARGS',
  'INTERACTIVE_TARGET',
  'UNKNOWN_PROJECT',
  'MAKEFILE_ERROR',
  'UNKNOWN_TARGET',
  'UNKNOWN_HOST',
  'REMOTE_FAILED',
  'CONFIRM_REQUIRED',
];
const SSH_ERRORS: ErrorCode[] = ['BAD_ARGS', 'UNKNOWN_HOST', 'UNKNOWN_PRESET', 'CONFIRM_REQUIRED'];
const TERMINAL_ERRORS: ErrorCode[] = [
  'BAD_ARGS',
  'UNKNOWN_PROJECT',
  'MAKEFILE_ERROR',
  'UNKNOWN_TARGET',
  'UNKNOWN_HOST',
  'RATE_LIMITED',
  'CONFIRM_REQUIRED',
];
const FANOUT_ERRORS: ErrorCode[] = [...STREAM_ERRORS, 'UNKNOWN_PRESET'];

/** Grouped by the tag each group has in the document. */
export const ROUTE_TABLE = {
  meta: {
    health: {
      method: 'GET',
      path: '/api/health',
      summary: 'Whether the server and its database are up',
      allow: 'public',
      ok: json(Health, 'up'),
      errors: ['DB_UNAVAILABLE'],
      errorFields: { DB_UNAVAILABLE: Health },
    },
    openApi: {
      method: 'GET',
      path: '/api/openapi.json',
      summary: 'This description of the API (OpenAPI 3.1)',
      allow: 'public',
      ok: { status: 200, media: 'application/json', description: 'the OpenAPI document' },
    },
    metrics: {
      method: 'GET',
      path: '/metrics',
      summary: "Prometheus metrics (any signed-in user or a scraper's token)",
      allow: 'signedIn',
      ok: { status: 200, media: 'text/plain', description: "Prometheus' text format" },
    },
  },
  auth: {
    login: {
      method: 'POST',
      path: '/api/auth/login',
      summary: 'Sign in with a password; sets the session cookie',
      allow: 'public',
      body: LoginRequest,
      ok: json(Me, 'signed in'),
      errors: ['UNAUTHENTICATED', 'FORBIDDEN', 'RATE_LIMITED', 'DB_UNAVAILABLE'],
    },
    logout: {
      method: 'POST',
      path: '/api/auth/logout',
      summary:
        "End this session (a token has none: 400, revoke it instead). A single sign-on user whose provider offers RP-initiated logout gets 200 `{redirect}` instead of 204: the provider's end-session URL, for the browser to go on to",
      allow: 'signedIn',
      ok: noContent('signed out'),
      also: [json(LogoutRedirect, 'signed out here; go on to the provider to sign out there', 200)],
    },
    me: {
      method: 'GET',
      path: '/api/auth/me',
      summary: 'Who is signed in',
      allow: 'signedIn',
      ok: json(Me, 'the caller'),
    },
    changePassword: {
      method: 'POST',
      path: '/api/auth/password',
      summary: 'Change your own password (proven with the current one); ends your other sessions',
      allow: 'signedIn',
      body: ChangePassword,
      ok: noContent('changed'),
      errors: ['RATE_LIMITED'],
    },
    providers: {
      method: 'GET',
      path: '/api/auth/providers',
      summary: 'How one may sign in here: a password (`auth.local`), single sign-on (its name)',
      allow: 'public',
      ok: json(AuthProviders, 'the ways to sign in'),
    },
    oidcLogin: {
      method: 'GET',
      path: '/api/auth/oidc/login',
      summary:
        'Single sign-on, a browser navigation: to the identity provider (authorization code flow with PKCE S256, state and nonce), back at `returnTo` (a path of this site; anything else is `/`)',
      allow: 'public',
      query: OidcLoginQuery,
      ok: {
        status: 302,
        description:
          'to the provider, or to `/login?error=SSO_PROVIDER_UNAVAILABLE` or `SSO_DISABLED`',
      },
    },
    oidcCallback: {
      method: 'GET',
      path: '/api/auth/oidc/callback',
      summary:
        "The redirect URI registered at the provider: checks state, PKCE and nonce, maps the user's groups to a role, opens a session",
      allow: 'public',
      ok: {
        status: 302,
        description:
          'to `returnTo` signed in, or to `/login?error=<code>`: SSO_NO_ROLE, SSO_INVALID, SSO_PROVIDER_UNAVAILABLE, SSO_DISABLED or SSO_CONFLICT',
      },
      errors: ['DB_UNAVAILABLE'],
    },
    loginLink: {
      method: 'GET',
      path: '/auth/link/:token',
      summary: 'The one-time sign-in link printed at start-up (a browser navigation)',
      allow: 'public',
      params: z.object({ token: z.string() }),
      ok: {
        status: 303,
        description: 'to `/` signed in, or to `/login?link=invalid` for a used or unknown link',
      },
      errors: ['DB_UNAVAILABLE'],
    },
  },
  catalog: {
    listProjects: {
      method: 'GET',
      path: '/api/projects',
      summary: 'Projects from the config file and the mkcli registry',
      allow: 'catalog.read',
      ok: json(z.array(ProjectInfo), 'the projects'),
    },
    listTargets: {
      method: 'GET',
      path: '/api/projects/:alias/targets',
      summary: "A project's make targets, locally or (`host`) on one of its remote hosts",
      allow: 'catalog.read',
      params: z.object({ alias: Alias }),
      query: TargetsQuery,
      ok: json(z.array(TargetInfo), 'the targets'),
      errors: ['UNKNOWN_PROJECT', 'MAKEFILE_ERROR', 'UNKNOWN_HOST', 'REMOTE_FAILED'],
    },
    projectStats: {
      method: 'GET',
      path: '/api/projects/:alias/stats',
      summary: "Each target's last finished runs and their median duration",
      allow: 'catalog.read',
      params: z.object({ alias: Alias }),
      ok: json(ProjectStats, 'per target'),
      errors: ['UNKNOWN_PROJECT'],
    },
    listHosts: {
      method: 'GET',
      path: '/api/hosts',
      summary: 'Hosts of the ssh config',
      allow: 'catalog.read',
      ok: json(z.array(HostInfo), 'the hosts'),
    },
    listContainers: {
      method: 'GET',
      path: '/api/hosts/:alias/containers',
      summary: 'Names of the containers running on a host (asked over ssh)',
      allow: 'catalog.read',
      params: z.object({ alias: HostAlias }),
      ok: json(ContainerNames, 'container names'),
      errors: ['UNKNOWN_HOST', 'REMOTE_FAILED'],
    },
    checkHost: {
      method: 'POST',
      path: '/api/hosts/:alias/check',
      summary:
        'Check that a host or VM (`vm:<env>/<name>`) is reachable now: ssh in BatchMode runs `true`',
      allow: 'catalog.refresh',
      params: z.object({ alias: HostAlias }),
      ok: json(Reachability, 'the check, reachable or not'),
      errors: ['UNKNOWN_HOST'],
    },
    listChecks: {
      method: 'GET',
      path: '/api/hosts/checks',
      summary: 'The last check of each host and VM this server made, newest first',
      allow: 'catalog.read',
      ok: json(z.array(Reachability), 'the checks'),
    },
    listVms: {
      method: 'GET',
      path: '/api/vms',
      summary: 'VMs of the vm-config environments',
      allow: 'catalog.read',
      ok: json(z.array(VmInfo), 'the VMs'),
    },
    listPresets: {
      method: 'GET',
      path: '/api/presets',
      summary: 'Remote command presets and their parameters',
      allow: 'catalog.read',
      ok: json(z.array(PresetInfo), 'the presets'),
    },
    refreshCatalog: {
      method: 'POST',
      path: '/api/catalog/refresh',
      summary: 'Read the registry, Makefiles, ssh config and vm-config again',
      allow: 'catalog.refresh',
      ok: json(CatalogRefreshed, 'what was found'),
    },
  },
  jobs: {
    listJobs: {
      method: 'GET',
      path: '/api/jobs',
      summary: 'Job history, newest first (`user`: `me` or a username)',
      allow: 'jobs.list',
      query: JobsQuery,
      ok: json(JobPage, 'a page of jobs'),
    },
    startStream: {
      method: 'POST',
      path: '/api/jobs/stream',
      summary: "Run a make target, locally or on one of the project's remote hosts",
      allow: 'job.run',
      body: StartStream,
      ok: json(StartedJob, 'started (or queued)', 201),
      errors: STREAM_ERRORS,
    },
    startSsh: {
      method: 'POST',
      path: '/api/jobs/ssh-logs',
      summary: 'Run a preset on a host, or (admins, security.allowAdHoc) an ad-hoc command',
      allow: 'job.run',
      body: StartSsh,
      ok: json(StartedJob, 'started (or queued)', 201),
      errors: SSH_ERRORS,
    },
    startTerminal: {
      method: 'POST',
      path: '/api/jobs/terminal',
      summary: 'Open an interactive target or a host shell in a terminal',
      allow: 'terminal.open',
      body: StartTerminal,
      ok: json(StartedJob, 'opened', 201),
      errors: TERMINAL_ERRORS,
    },
    startFanout: {
      method: 'POST',
      path: '/api/jobs/fanout',
      summary: 'Run a preset or a target on every VM of an environment, or on listed hosts',
      allow: 'job.run',
      body: StartFanout,
      ok: json(StartedJob, 'the group job', 201),
      errors: FANOUT_ERRORS,
    },
    cancelJob: {
      method: 'POST',
      path: '/api/jobs/cancel',
      summary: 'Cancel a job (its whole process tree); a queued one never starts',
      allow: 'job.run',
      body: CancelJob,
      ok: json(CanceledJob, 'the cancel is taken in', 202),
      errors: ['JOB_NOT_FOUND', 'JOB_FINISHED'],
    },
    getJob: {
      method: 'GET',
      path: '/api/jobs/:id',
      summary: 'A job, with its children for a group',
      allow: 'jobs.list',
      params: jobParams,
      ok: json(JobWithChildren, 'the job'),
      errors: ['JOB_NOT_FOUND'],
    },
    jobEvents: {
      method: 'GET',
      path: '/api/jobs/:id/events',
      summary: "A job's stored output events after a seq",
      allow: 'jobs.list',
      params: jobParams,
      query: EventsQuery,
      ok: json(EventPage, 'a page of events'),
      errors: ['JOB_NOT_FOUND', 'FORBIDDEN'],
    },
    jobTail: {
      method: 'GET',
      path: '/api/jobs/:id/tail',
      summary: "A job's output read from its end: the events before a seq",
      allow: 'jobs.list',
      params: jobParams,
      query: TailQuery,
      ok: json(TailPage, 'a page of events'),
      errors: ['JOB_NOT_FOUND', 'FORBIDDEN'],
    },
    rerunJob: {
      method: 'POST',
      path: '/api/jobs/:id/rerun',
      summary:
        'Start a new job with the same request: `args` replace its arguments; a `@confirm` target or a protected place wants `confirm` again',
      allow: 'job.run',
      optionalBody: true,
      params: jobParams,
      body: RerunJob,
      ok: json(StartedJob, 'the new job', 201),
      errors: ['JOB_NOT_FOUND', ...FANOUT_ERRORS, ...TERMINAL_ERRORS],
    },
    jobLog: {
      method: 'GET',
      path: '/api/jobs/:id/log',
      summary: "A job's whole output as a text download",
      allow: 'jobs.list',
      params: jobParams,
      ok: { status: 200, media: 'text/plain', description: 'the output' },
      errors: ['JOB_NOT_FOUND', 'FORBIDDEN'],
    },
  },
  users: {
    listUsers: {
      method: 'GET',
      path: '/api/users',
      summary: 'All users',
      allow: 'users.manage',
      ok: json(z.array(ManagedUser), 'the users'),
    },
    createUser: {
      method: 'POST',
      path: '/api/users',
      summary: 'Create a user',
      allow: 'users.manage',
      body: CreateUser,
      ok: json(ManagedUser, 'created', 201),
      errors: ['CONFLICT'],
    },
    updateUser: {
      method: 'PATCH',
      path: '/api/users/:id',
      summary: "Change a user's role, disable them or set their password",
      allow: 'users.manage',
      params: z.object({ id: UserId }),
      body: UpdateUser,
      ok: json(ManagedUser, 'changed'),
      errors: ['USER_NOT_FOUND', 'CONFLICT'],
    },
    deleteUser: {
      method: 'DELETE',
      path: '/api/users/:id',
      summary: 'Delete a user (not yourself, not the last admin)',
      allow: 'users.manage',
      params: z.object({ id: UserId }),
      ok: noContent('deleted'),
      errors: ['USER_NOT_FOUND', 'CONFLICT'],
    },
  },
  tokens: {
    listTokens: {
      method: 'GET',
      path: '/api/tokens',
      summary: 'Your personal API tokens',
      allow: 'tokens.manage',
      ok: json(z.array(ApiToken), 'the tokens'),
    },
    createToken: {
      method: 'POST',
      path: '/api/tokens',
      summary: 'Create a personal API token; its value is shown this once',
      allow: 'tokens.manage',
      body: CreateToken,
      ok: json(CreatedToken, 'created', 201),
    },
    revokeToken: {
      method: 'DELETE',
      path: '/api/tokens/:id',
      summary: 'Revoke one of your tokens',
      allow: 'tokens.manage',
      params: z.object({ id: TokenId }),
      ok: noContent('revoked'),
      errors: ['TOKEN_NOT_FOUND'],
    },
  },
  schedules: {
    listSchedules: {
      method: 'GET',
      path: '/api/schedules',
      summary: 'Every schedule, with its next and last fire',
      allow: 'jobs.list',
      ok: json(z.array(Schedule), 'the schedules'),
    },
    createSchedule: {
      method: 'POST',
      path: '/api/schedules',
      summary:
        'Schedule a target, preset or fan-out; it runs as you, and a @confirm target or a protected place needs its confirmation now',
      allow: 'schedules.manage',
      body: ScheduleInput,
      ok: json(Schedule, 'created', 201),
      errors: [...STREAM_ERRORS, 'UNKNOWN_PRESET'],
    },
    getSchedule: {
      method: 'GET',
      path: '/api/schedules/:id',
      summary: 'A schedule with its fires, newest first',
      allow: 'jobs.list',
      params: z.object({ id: ScheduleId }),
      ok: json(ScheduleDetail, 'the schedule'),
      errors: ['SCHEDULE_NOT_FOUND'],
    },
    updateSchedule: {
      method: 'PATCH',
      path: '/api/schedules/:id',
      summary: 'Change a schedule, or pause and resume it (enabled)',
      allow: 'schedules.manage',
      params: z.object({ id: ScheduleId }),
      body: SchedulePatch,
      ok: json(Schedule, 'changed'),
      errors: ['SCHEDULE_NOT_FOUND', ...STREAM_ERRORS, 'UNKNOWN_PRESET'],
    },
    deleteSchedule: {
      method: 'DELETE',
      path: '/api/schedules/:id',
      summary: 'Delete a schedule (its jobs stay)',
      allow: 'schedules.manage',
      params: z.object({ id: ScheduleId }),
      ok: noContent('deleted'),
      errors: ['SCHEDULE_NOT_FOUND'],
    },
    runSchedule: {
      method: 'POST',
      path: '/api/schedules/:id/run',
      summary: 'Run a schedule now, as you',
      allow: 'job.run',
      params: z.object({ id: ScheduleId }),
      ok: json(StartedJob, 'started', 201),
      errors: ['SCHEDULE_NOT_FOUND', ...STREAM_ERRORS, 'UNKNOWN_PRESET'],
    },
    nextRuns: {
      method: 'GET',
      path: '/api/schedules/:id/next',
      summary: "A schedule's next fire times",
      allow: 'jobs.list',
      params: z.object({ id: ScheduleId }),
      query: NextRunsQuery,
      ok: json(z.array(z.string()), 'ISO times'),
      errors: ['SCHEDULE_NOT_FOUND'],
    },
  },
  notifications: {
    listUnseen: {
      method: 'GET',
      path: '/api/notifications/unseen',
      summary:
        'The ends of your own jobs no page of yours has shown yet (newest first), to tell you now',
      allow: 'signedIn',
      ok: json(z.array(Job), 'those jobs'),
    },
    markSeen: {
      method: 'POST',
      path: '/api/notifications/unseen/seen',
      summary: 'A page told you of these ends: they are not told again',
      allow: 'signedIn',
      body: MarkSeen,
      ok: noContent('noted'),
    },
    listChannels: {
      method: 'GET',
      path: '/api/notifications/channels',
      summary: 'Where notifications go (never their secrets); every signed-in user may pick one',
      allow: 'signedIn',
      ok: json(z.array(Channel), 'the channels'),
    },
    createChannel: {
      method: 'POST',
      path: '/api/notifications/channels',
      summary:
        'A channel: a signed webhook (its secret made and shown once if you give none), a Slack-compatible webhook, or e-mail over SMTP',
      allow: 'notifications.manage',
      body: ChannelInput,
      ok: json(CreatedChannel, 'created', 201),
      errors: ['CONFLICT'],
    },
    updateChannel: {
      method: 'PATCH',
      path: '/api/notifications/channels/:id',
      summary: 'Change a channel (a field left out stays as it is)',
      allow: 'notifications.manage',
      params: z.object({ id: ChannelId }),
      body: ChannelPatch,
      ok: json(Channel, 'the channel'),
      errors: ['NOT_FOUND', 'CONFLICT'],
    },
    deleteChannel: {
      method: 'DELETE',
      path: '/api/notifications/channels/:id',
      summary: 'Delete a channel, with its rules and its delivery log',
      allow: 'notifications.manage',
      params: z.object({ id: ChannelId }),
      ok: noContent('deleted'),
      errors: ['NOT_FOUND'],
    },
    testChannel: {
      method: 'POST',
      path: '/api/notifications/channels/:id/test',
      summary: 'Send a test message now and say how it went (nothing is queued or retried)',
      allow: 'notifications.manage',
      params: z.object({ id: ChannelId }),
      ok: json(z.object({ ok: z.boolean(), error: z.string().nullable() }), 'how it went'),
      errors: ['NOT_FOUND'],
    },
    listRules: {
      method: 'GET',
      path: '/api/notifications/rules',
      summary: 'Rules: every rule for an admin, your own for anyone else',
      allow: 'signedIn',
      ok: json(z.array(NotificationRule), 'the rules'),
    },
    createRule: {
      method: 'POST',
      path: '/api/notifications/rules',
      summary:
        'A rule: which job ends go to a channel; yours. Only an admin may have rules beyond "mine"',
      allow: 'signedIn',
      body: NotificationRuleInput,
      ok: json(NotificationRule, 'created', 201),
      errors: ['NOT_FOUND', 'FORBIDDEN'],
    },
    updateRule: {
      method: 'PATCH',
      path: '/api/notifications/rules/:id',
      summary: 'Change a rule (yours, or any as an admin)',
      allow: 'signedIn',
      params: z.object({ id: NotificationRuleId }),
      body: NotificationRulePatch,
      ok: json(NotificationRule, 'the rule'),
      errors: ['NOT_FOUND', 'FORBIDDEN'],
    },
    deleteRule: {
      method: 'DELETE',
      path: '/api/notifications/rules/:id',
      summary: 'Delete a rule (yours, or any as an admin)',
      allow: 'signedIn',
      params: z.object({ id: NotificationRuleId }),
      ok: noContent('deleted'),
      errors: ['NOT_FOUND'],
    },
    listDeliveries: {
      method: 'GET',
      path: '/api/notifications/deliveries',
      summary: 'The delivery log, newest first: status, attempts, last error',
      allow: 'notifications.manage',
      query: DeliveriesQuery,
      ok: json(DeliveryPage, 'a page of deliveries'),
    },
    resendDelivery: {
      method: 'POST',
      path: '/api/notifications/deliveries/:id/resend',
      summary: 'Send a delivery again now (sent or given up alike), retried for another day',
      allow: 'notifications.manage',
      params: z.object({ id: DeliveryId }),
      ok: json(Delivery, 'queued again'),
      errors: ['NOT_FOUND'],
    },
  },
  triggers: {
    listTriggers: {
      method: 'GET',
      path: '/api/triggers',
      summary: 'Every trigger (never their secrets)',
      allow: 'triggers.manage',
      ok: json(z.array(Trigger), 'the triggers'),
    },
    createTrigger: {
      method: 'POST',
      path: '/api/triggers',
      summary:
        'A trigger for a target, preset or fan-out, run as you; its secret is shown this once',
      allow: 'triggers.manage',
      body: TriggerInput,
      ok: json(CreatedTrigger, 'created, with its secret', 201),
      errors: [...STREAM_ERRORS, 'UNKNOWN_PRESET'],
    },
    deleteTrigger: {
      method: 'DELETE',
      path: '/api/triggers/:id',
      summary: 'Delete a trigger: its secret stops working at once',
      allow: 'triggers.manage',
      params: z.object({ id: TriggerId }),
      ok: noContent('deleted'),
      errors: ['NOT_FOUND'],
    },
    fireTrigger: {
      method: 'POST',
      path: '/api/triggers/:id',
      summary:
        "Start a trigger's run (Authorization: Bearer <its secret>); with wait=1 the answer comes when it ends",
      allow: 'public',
      params: z.object({ id: TriggerId }),
      body: FireTrigger,
      optionalBody: true,
      query: FireTriggerQuery,
      ok: json(
        TriggerRun,
        'started (201); with wait: ended (200), or still going at the time-out (202)',
        201,
      ),
      errors: ['UNAUTHENTICATED', 'FORBIDDEN', 'RATE_LIMITED', ...STREAM_ERRORS, 'UNKNOWN_PRESET'],
    },
  },
  search: {
    search: {
      method: 'GET',
      path: '/api/search',
      summary:
        'Which jobs printed this, and on which lines: the output as a user sees it, newest jobs first (what the caller may not read is left out)',
      allow: 'jobs.list',
      query: SearchQuery,
      ok: json(SearchPage, 'a page of jobs with their matching lines'),
    },
  },
  audit: {
    listAudit: {
      method: 'GET',
      path: '/api/audit',
      summary: 'The audit log, newest first',
      allow: 'audit.read',
      query: AuditQuery,
      ok: json(AuditPage, 'a page of entries'),
    },
    verifyAudit: {
      method: 'GET',
      path: '/api/audit/verify',
      summary:
        'The hash chain checked from its anchor to its head: the last entry whose link holds, the first that does not and why, and where the backup stands',
      allow: 'audit.read',
      ok: json(AuditVerify, 'the chain checked'),
    },
    exportAudit: {
      method: 'GET',
      path: '/api/audit/export',
      summary:
        'The audit trail oldest first within [since, until), streamed as JSON lines or CSV, every entry with its prevHash and hash (checkable offline: docs/AUDIT.md)',
      allow: 'audit.read',
      query: AuditExportQuery,
      ok: { status: 200, media: 'application/x-ndjson', description: 'JSON lines, or text/csv' },
    },
  },
} satisfies Record<string, Record<string, ApiRoute>>;

/** The table as one list, in its order. */
export function tableRoutes(): TableRoute[] {
  return Object.entries(ROUTE_TABLE).flatMap(([tag, routes]) =>
    Object.entries(routes).map(([id, route]: [string, ApiRoute]) => ({
      ...route,
      id,
      tag,
      access: roleOf(route.allow),
    })),
  );
}

/**
 * The codes every route of its kind answers: 421 for a foreign Host; 401 and a database outage
 * for signed-in routes; 403 for a role below the route's or (cookies) a foreign Origin on a change;
 * 400 and 413 where a body or query is read. Signed-in API changes parse a JSON body, if sent, even
 * when they need none.
 */
export function impliedErrors(route: TableRoute): ErrorCode[] {
  const signedIn = route.access !== 'public';
  const change = route.method !== 'GET';
  const codes: ErrorCode[] = ['MISDIRECTED'];
  if (signedIn) codes.push('UNAUTHENTICATED', 'DB_UNAVAILABLE');
  if (route.access === 'operator' || route.access === 'admin' || (signedIn && change))
    codes.push('FORBIDDEN');
  if (route.body || route.query || (signedIn && change && route.path.startsWith('/api/')))
    codes.push('VALIDATION');
  if (route.body || (signedIn && change && route.path.startsWith('/api/')))
    codes.push('PAYLOAD_TOO_LARGE');
  return codes;
}

/** Every code the route can answer, implied or its own, without repeats. */
export function routeErrors(route: TableRoute): ErrorCode[] {
  return [...new Set([...impliedErrors(route), ...(route.errors ?? [])])];
}
