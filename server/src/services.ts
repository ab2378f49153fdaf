// Builds the services from their repositories once, for main.ts and the test fixtures alike.
import { AuditQueries } from './auth/audit.queries.js';
import { AuthEvents } from './auth/auth.events.js';
import { AuthService } from './auth/auth.service.js';
import { AuditBackup, backupSink } from './audit/audit.backup.js';
import { AuditTrail } from './audit/audit.trail.js';
import { OidcService } from './auth/oidc.service.js';
import { TokensService } from './auth/tokens.service.js';
import { UsersService } from './auth/users.service.js';
import { CatalogService } from './catalog/catalog.service.js';
import { envRules, jobEnvironment } from './process/environment.js';
import { BUILTIN_PRESETS } from './catalog/presets.js';
import { FINAL_STATUSES, type Waiting } from '@vmo/protocol';
import type { Config } from './config.js';
import { Access } from './auth/permissions.js';
import { AuditRepository } from './db/audit.repository.js';
import { CatalogRepository } from './db/catalog.repository.js';
import type { Db } from './db/client.js';
import { JobEventsRepository } from './db/job-events.repository.js';
import { JobsRepository } from './db/jobs.repository.js';
import { LoginLimitsRepository } from './db/login-limits.repository.js';
import { LoginLinksRepository } from './db/login-links.repository.js';
import { SessionsRepository } from './db/sessions.repository.js';
import { TokensRepository } from './db/tokens.repository.js';
import { SettingsRepository } from './db/settings.repository.js';
import { SsoGrantsRepository } from './db/sso-grants.repository.js';
import { UsersRepository } from './db/users.repository.js';
import { SchedulesRepository } from './db/schedules.repository.js';
import { SavedRuns } from './schedules/saved-runs.js';
import { Scheduler } from './schedules/scheduler.js';
import { TriggersRepository } from './db/triggers.repository.js';
import { TriggersService } from './triggers/triggers.service.js';
import { UnseenRepository } from './db/unseen.repository.js';
import { UnseenEnds } from './notifications/unseen.js';
import { NotificationsRepository } from './db/notifications.repository.js';
import { Dispatcher } from './notifications/dispatcher.js';
import { NotificationsService } from './notifications/notifications.service.js';
import { SearchRepository } from './db/search.repository.js';
import { SearchIndexer } from './search/indexer.js';
import { SearchService } from './search/search.service.js';
import { SchedulesService } from './schedules/schedules.service.js';
import { JobBus } from './jobs/job.bus.js';
import { EventWriter } from './jobs/event-writer.js';
import { JobQueries } from './jobs/job.queries.js';
import { ClusterService, CLUSTER_CHANNEL } from './cluster/cluster.service.js';
import { resolveInstanceId } from './cluster/instance-id.js';
import { ClusterChannel } from './db/cluster.channel.js';
import { InstancesRepository } from './db/instances.repository.js';
import { Metrics } from './metrics/metrics.js';
import { JobGroups } from './jobs/job.groups.js';
import { JobQueue } from './jobs/job.queue.js';
import { JobRecords } from './jobs/job.records.js';
import { JobRecovery } from './jobs/job.recovery.js';
import { JobRuns } from './jobs/job.runs.js';
import { JobService } from './jobs/job.service.js';
import { TerminalJobs } from './jobs/terminal.jobs.js';
import { Retention } from './jobs/retention.js';
import type { Logger } from './logger.js';
import { JobRequests } from './jobs/job.requests.js';
import { RemoteService } from './remote/remote.service.js';
import { Terminals } from './jobs/terminals.js';
import { LocalRunner } from './runners/local.runner.js';
import { PtyRunner } from './runners/pty.runner.js';
import { controlDirFor, SshRunner } from './runners/ssh.runner.js';

export interface Services {
  /** The one permission function with this server's settings (SPEC §4). */
  access: Access;
  auth: AuthService;
  users: UsersRepository;
  /** User management for admins. */
  accounts: UsersService;
  tokens: TokensService;
  /** How one may sign in: a password (`auth.local`), single sign-on when configured. */
  signIn: { local: boolean; oidc: OidcService | null };
  /** Failed sign-ins per address and user, counted in the database for every instance. */
  loginLimits: LoginLimitsRepository;
  auditLog: AuditQueries;
  /** The hash chain verified, the export, retention; main starts its retention. */
  auditTrail: AuditTrail;
  /** Null unless audit.dynamodb or audit.lambda: then main starts it. */
  auditBackup: AuditBackup | null;
  authEvents: AuthEvents;
  catalog: CatalogService;
  jobs: JobService;
  queries: JobQueries;
  bus: JobBus;
  retention: Retention;
  remote: RemoteService;
  /** Null unless cluster.enabled: then start() it after migrations, stop() it after jobs.shutdown(). */
  cluster: ClusterService | null;
  metrics: Metrics;
  schedules: SchedulesService;
  /** start() it once the server is ready; stop it before jobs.shutdown(). */
  scheduler: Scheduler;
  triggers: TriggersService;
  /** The ends of each user's jobs not seen yet (kept as the bus announces them). */
  unseen: UnseenEnds;
  notifications: NotificationsService;
  /** Sends the notifications' outbox; started by main (and by tests that want it). */
  dispatcher: Dispatcher;
  search: SearchService;
  /** Indexes the jobs' output for search; started by main (and by tests that want it). */
  indexer: SearchIndexer;
}

export interface ServiceOptions {
  config: Pick<
    Config,
    | 'projects'
    | 'mkcli'
    | 'ssh'
    | 'vmConfig'
    | 'presets'
    | 'jobs'
    | 'db'
    | 'cluster'
    | 'notifications'
    | 'search'
    | 'security'
    | 'terminal'
    | 'fanout'
    | 'auth'
    | 'audit'
  >;
  /** ssh ControlMaster sockets live under it. */
  dataDir: string;
  db: Db;
  log: Logger;
  /** Extra variables for the desktop terminal spawn (TERM_CMD in tests). */
  desktopEnv?: NodeJS.ProcessEnv;
  /** The environment jobs inherit (scrubbed); process.env by default. */
  env?: NodeJS.ProcessEnv;
}

export function createServices(opts: ServiceOptions): Services {
  const { config, db, log } = opts;
  const users = new UsersRepository(db.db);
  const audit = new AuditRepository(db.db);
  const jobsRepo = new JobsRepository(db.db);
  const events = new JobEventsRepository(db.db);
  const bus = new JobBus();
  const instanceId = resolveInstanceId(config.cluster, opts.dataDir);
  const cluster = config.cluster.enabled
    ? new ClusterService({
        instanceId,
        heartbeatSeconds: config.cluster.heartbeatSeconds,
        channel: new ClusterChannel(db.pool, CLUSTER_CHANNEL, log),
        instances: new InstancesRepository(db.db),
        bus,
        log,
      })
    : null;
  const metrics: Metrics = new Metrics(
    {
      jobsByStatus: () => jobsRepo.countByStatus(),
      running: () => jobs.runningCount,
      queued: () => jobs.queuedCount,
      pool: () => ({
        total: db.pool.totalCount,
        idle: db.pool.idleCount,
        waiting: db.pool.waitingCount,
      }),
    },
    { instanceId },
  );
  const env = opts.env ?? process.env;
  const jobEnv = envRules(config.jobs.env);
  const catalog = new CatalogService({
    config,
    // Validated at boot by loadConfig; the built-in ones when the config names none.
    presets: config.presets ?? BUILTIN_PRESETS,
    log,
    store: new CatalogRepository(db.db),
    path: env.PATH,
    env: jobEnvironment(env, jobEnv),
  });
  const access = new Access({
    allowAdHoc: config.security.allowAdHoc,
    hostShells: config.terminal.hostShells,
  });
  const waiting = new Map<string, Waiting>();
  const queries = new JobQueries({
    jobs: jobsRepo,
    events,
    access,
    protectionOf: (where) => catalog.protectionOf(where),
    waiting,
  });
  const retention = new Retention({
    jobs: jobsRepo,
    log,
    retentionDays: config.jobs.retentionDays,
  });
  const local = new LocalRunner({ lingerMs: 2_000, graceMs: config.jobs.graceSeconds * 1000 });
  const ssh = new SshRunner(local, {
    ...config.ssh,
    configFile: config.ssh.config,
    controlDir: controlDirFor(opts.dataDir),
  });
  const remote = new RemoteService({ catalog, ssh, env, envRules: jobEnv });
  const requests = new JobRequests({
    catalog,
    remote,
    ssh,
    env,
    envRules: jobEnv,
    access,
  });
  const limits = {
    maxConcurrent: config.jobs.maxConcurrent,
    graceSeconds: config.jobs.graceSeconds,
    timeoutSeconds: config.jobs.timeoutSeconds,
    maxOutputBytes: config.jobs.maxOutputBytes,
    bufferBytes: config.jobs.bufferBytes,
    outageSeconds: config.db.outageSeconds,
    fanoutParallel: config.fanout.maxParallel,
  };
  const writer = new EventWriter(metrics.instrument(events));
  const terminals = new Terminals({
    ...config.terminal,
    graceSeconds: config.jobs.graceSeconds,
    access,
  });
  const queue: JobQueue = new JobQueue({
    limits,
    waiting,
    changed: (row) => records.changed(row),
    log,
  });
  const records = new JobRecords({
    events,
    writer,
    bus,
    record: (row) => queries.record(row),
    limits,
    stopping: () => queue.isClosed,
  });
  const runs = new JobRuns({
    jobs: jobsRepo,
    events,
    writer,
    runners: { local, ssh, pty: new PtyRunner() },
    terminals,
    bus,
    log,
    limits,
    records,
    audit,
    queue,
    instanceId,
  });
  queue.serve((active) => runs.run(active));
  const jobs = new JobService({
    jobs: jobsRepo,
    queries,
    audit,
    requests,
    access,
    queue,
    runs,
    groups: new JobGroups({
      jobs: jobsRepo,
      audit,
      requests,
      records,
      bus,
      log,
      limits,
      instanceId,
      queue,
      runs,
    }),
    terminalJobs: new TerminalJobs({
      jobs: jobsRepo,
      queries,
      audit,
      requests,
      terminals,
      desktopEnv: opts.desktopEnv,
      records,
      bus,
      instanceId,
      runs,
    }),
    recovery: new JobRecovery({
      jobs: jobsRepo,
      records,
      bus,
      instanceId,
      leftovers: { graceMs: config.jobs.graceSeconds * 1000 },
    }),
    log,
    graceSeconds: config.jobs.graceSeconds,
    instanceId,
    peers: cluster ?? undefined,
  });
  const schedulesRepo = new SchedulesRepository(db.db);
  const savedRuns = new SavedRuns({ jobs, requests, access });
  const loginLimits = new LoginLimitsRepository(db.db);
  const schedules = new SchedulesService({
    schedules: schedulesRepo,
    users,
    jobRows: jobsRepo,
    runs: savedRuns,
    audit,
    access,
    log,
    instanceId,
    defaultTimezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
  });
  const scheduler = new Scheduler({
    schedules: schedulesRepo,
    service: schedules,
    instanceId,
    log,
  });
  const unseen = new UnseenEnds({ unseen: new UnseenRepository(db.db), queries, log });
  unseen.listen(bus);
  const notificationsRepo = new NotificationsRepository(db.db);
  const n = config.notifications;
  const dispatcher = new Dispatcher({
    repo: notificationsRepo,
    jobRows: jobsRepo,
    events,
    users,
    access,
    instanceId,
    log,
    options: {
      pollMs: n.pollSeconds * 1000,
      firstRetryMs: n.firstRetrySeconds * 1000,
      maxRetryMs: n.maxRetrySeconds * 1000,
      timeoutMs: n.timeoutSeconds * 1000,
      concurrency: 8,
      from: n.from,
      publicUrl: config.security.publicUrl,
    },
  });
  const searchRepo = new SearchRepository(db.db);
  const indexer = new SearchIndexer({
    repo: searchRepo,
    log,
    busy: () => queue.runningCount > 0,
    options: {
      busyDuty: 0.1,
      pollMs: config.search.pollSeconds * 1000,
      runningEveryMs: config.search.runningEverySeconds * 1000,
      // A transaction's blocks go in one statement, encoded on the event loop: kept small.
      batchBytes: 4 * 1024 * 1024,
    },
  });
  // The outbox row was committed with the end: look at once rather than at the next poll. The
  // job's output is all stored by then too.
  bus.onChanged((job) => {
    if (!FINAL_STATUSES.includes(job.status)) return;
    dispatcher.nudge();
    indexer.nudge();
  });
  const sink = backupSink(config.audit);
  const auditBackup = sink ? new AuditBackup({ db: db.db, sink, log }) : null;
  if (auditBackup) audit.onAdded = () => auditBackup.nudge();
  const auditTrail = new AuditTrail({
    audit,
    log,
    retentionDays: config.audit.retentionDays,
    ...(auditBackup
      ? {
          shippedUpTo: () => auditBackup.shippedUpTo(),
          backupStatus: () => auditBackup.status(),
        }
      : {}),
  });
  const sessions = new SessionsRepository(db.db);
  const authEvents = new AuthEvents();
  const tokensRepo = new TokensRepository(db.db);
  const auth = new AuthService({
    users,
    links: new LoginLinksRepository(db.db),
    audit,
    sessions,
    events: authEvents,
  });
  return {
    access,
    auth,
    users,
    accounts: new UsersService({
      users,
      sessions,
      audit,
      events: authEvents,
      hashPassword: (p) => auth.hashPassword(p),
    }),
    tokens: new TokensService({ tokens: tokensRepo, audit, events: authEvents }),
    signIn: {
      local: config.auth.local,
      oidc: config.auth.oidc
        ? new OidcService(config.auth.oidc, {
            users,
            sessions,
            tokens: tokensRepo,
            grants: new SsoGrantsRepository(db.db),
            settings: new SettingsRepository(db.db),
            audit,
            events: authEvents,
            log,
          })
        : null,
    },
    loginLimits,
    auditLog: new AuditQueries({ audit }),
    auditTrail,
    auditBackup,
    authEvents,
    catalog,
    jobs,
    queries,
    bus,
    retention,
    remote,
    cluster,
    metrics,
    schedules,
    scheduler,
    unseen,
    dispatcher,
    indexer,
    search: new SearchService({ repo: searchRepo, jobRows: jobsRepo, access }),
    notifications: new NotificationsService({
      repo: notificationsRepo,
      audit,
      access,
      dispatcher,
      retryForMs: n.retryForHours * 3600 * 1000,
      publicUrl: config.security.publicUrl,
    }),
    triggers: new TriggersService({
      triggers: new TriggersRepository(db.db),
      users,
      jobRows: jobsRepo,
      runs: savedRuns,
      audit,
      access,
      bus,
      limits: loginLimits,
      publicUrl: config.security.publicUrl,
    }),
  };
}
