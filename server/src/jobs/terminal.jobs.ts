// Terminal jobs: a terminal in the browser (a pty job that never waits behind batch jobs), or the
// user's own terminal app (a job that is `spawned` at once), and the keystrokes and resizes of both.
import type { StartTerminal, StartedJob, User } from '@vmo/protocol';
import type { AuditRepository } from '../db/audit.repository.js';
import type { JobsRepository } from '../db/jobs.repository.js';
import type { PtySpec } from '../runners/pty.runner.js';
import type { JobBus } from './job.bus.js';
import type { JobQueries } from './job.queries.js';
import type { JobRecords } from './job.records.js';
import type { JobRequest, JobRequests } from './job.requests.js';
import type { JobRuns } from './job.runs.js';
import type { Terminals } from './terminals.js';

export interface TerminalJobsDeps {
  jobs: JobsRepository;
  queries: JobQueries;
  audit: AuditRepository;
  requests: JobRequests;
  terminals: Terminals;
  /** Variables a desktop terminal needs beyond the job environment (tests set TERM_CMD here). */
  desktopEnv?: NodeJS.ProcessEnv;
  records: JobRecords;
  bus: JobBus;
  instanceId: string;
  /** A terminal in the browser is queued like any job (it never waits: see JobQueue). */
  runs: Pick<JobRuns, 'submit'>;
}

export class TerminalJobs {
  constructor(private readonly deps: TerminalJobsDeps) {}

  /** A terminal in the browser (a pty job, not queued), or the user's own terminal app (`spawned`). */
  async start(req: StartTerminal, user: User, source: string | null): Promise<StartedJob> {
    const request = await this.deps.requests.terminal(req, user);
    if (req.mode === 'desktop') return this.spawnDesktop(request, user, source);
    this.deps.terminals.reserve();
    try {
      return await this.deps.runs.submit(request, user, source);
    } catch (err) {
      this.deps.terminals.unreserve();
      throw err;
    }
  }

  /**
   * Keystrokes reach an open terminal synchronously, so they keep the order they were sent in;
   * only for a job with no open terminal is the database asked which error to answer.
   */
  async input(jobId: string, data: string, user: User): Promise<void> {
    const id = jobId.toLowerCase();
    if (!this.deps.terminals.isOpen(id)) await this.deps.queries.row(jobId);
    this.deps.terminals.input(id, data, user);
  }

  async resize(jobId: string, cols: number, rows: number, user: User): Promise<void> {
    const id = jobId.toLowerCase();
    if (!this.deps.terminals.isOpen(id)) await this.deps.queries.row(jobId);
    this.deps.terminals.resize(id, cols, rows, user);
  }

  private async spawnDesktop(
    request: JobRequest,
    user: User,
    source: string | null,
  ): Promise<StartedJob> {
    const { records } = this.deps;
    const spec = request.launch.spec as PtySpec;
    const opened = await this.deps.terminals.desktop(spec.argv, {
      ...spec.env,
      ...(this.deps.desktopEnv ?? {}),
    });
    const now = new Date();
    const row = await this.deps.jobs.create({
      type: 'terminal',
      status: 'spawned',
      ...request.row,
      argv: opened.argv,
      requested_by: user.id,
      instance_id: this.deps.instanceId,
    });
    await this.deps.audit.add({
      userId: user.id,
      username: user.username,
      action: 'terminal.open',
      target: row.id,
      source,
      details: { ...request.audit.details, emulator: opened.emulator, mode: 'desktop' },
    });
    const pipeline = records.systemPipeline(row);
    pipeline.system(
      `opened in ${opened.emulator}${opened.pid ? ` (pid ${opened.pid})` : ''}: ${row.command}`,
    );
    await pipeline.flush();
    const final =
      (await this.deps.jobs.transition(row.id, ['spawned'], {
        started_at: now,
        finished_at: now,
      })) ?? row;
    records.changed(final);
    this.deps.bus.publishDone({
      jobId: row.id,
      status: 'spawned',
      exitCode: null,
      signal: null,
      lastSeq: pipeline.committedSeq,
    });
    return { jobId: row.id, type: 'terminal' };
  }
}
