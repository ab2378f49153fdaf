// Where a host alias leads (an ssh config alias, or `vm:<env>/<name>` for a VM without one), and the
// short questions asked over ssh outside any job, such as the containers running on a host.
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { Listing, Reachability, TargetInfo } from '@vmo/protocol';
import {
  makefileError,
  toTargetInfos,
  type CatalogService,
  type RemoteListings,
} from '../catalog/catalog.service.js';
import { commandLine } from '../catalog/make-sandbox.js';
import { listTargets, MakeError, type Discovery, type ListingHost } from '../catalog/makefile.js';
import type { Project } from '../catalog/projects.js';
import { shellQuote } from '../process/shell.js';
import { AppError } from '../errors.js';
import { jobEnvironment, type EnvFilter } from '../process/environment.js';
import { diagnoseSsh, type SshRunner } from '../runners/ssh.runner.js';

/** Where a job runs: see RemoteService.place(). */
export interface Place {
  host: string;
  environment: string | null;
  vm: string | null;
}

const VM_ALIAS = /^vm:([A-Za-z0-9][A-Za-z0-9_.-]*)\/([A-Za-z0-9][A-Za-z0-9_.-]*)$/;
const CONTAINER = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export class RemoteService implements RemoteListings {
  /** The last check of each host alias, kept until the server stops. */
  private readonly reachability = new Map<string, Reachability>();
  private readonly targetCache = new Map<string, Promise<Discovery>>();
  private readonly listings = new Map<string, Listing>();

  constructor(
    private readonly deps: {
      catalog: CatalogService;
      ssh: SshRunner;
      env?: NodeJS.ProcessEnv;
      envRules?: EnvFilter;
    },
  ) {}

  /** The ssh destination for a catalog host alias, or 404 UNKNOWN_HOST. */
  destination(hostAlias: string): string {
    const vm = VM_ALIAS.exec(hostAlias);
    if (vm) {
      const found = this.deps.catalog
        .vms()
        .find((v) => v.environment === vm[1] && v.name === vm[2]);
      if (!found) throw new AppError('UNKNOWN_HOST', `no VM "${vm[1]}/${vm[2]}"`);
      if (found.sshAlias) return found.sshAlias;
      return found.user ? `${found.user}@${found.host}` : found.host;
    }
    return this.deps.catalog.host(hostAlias).alias;
  }

  /**
   * Where a job on `hostAlias` runs, as the history records it: the ssh alias that reaches it
   * and, for a VM (`vm:<env>/<name>`), its environment and id, even when it is reached through
   * another host's ssh entry. 404 UNKNOWN_HOST for neither.
   */
  place(hostAlias: string): Place {
    const vm = VM_ALIAS.exec(hostAlias);
    if (!vm) return { host: this.deps.catalog.host(hostAlias).alias, environment: null, vm: null };
    const found = this.deps.catalog.vms().find((v) => v.environment === vm[1] && v.name === vm[2]);
    if (!found) throw new AppError('UNKNOWN_HOST', `no VM "${vm[1]}/${vm[2]}"`);
    return { host: found.sshAlias ?? hostAlias, environment: found.environment, vm: found.id };
  }

  /**
   * Whether ssh gets through to the host now, in BatchMode (no prompt can hold it), running
   * `true`; kept as the host's last check. An unknown host is 404; one that does not answer is a
   * check that says why.
   */
  async check(hostAlias: string): Promise<Reachability> {
    this.destination(hostAlias); // 404 UNKNOWN_HOST before anything is tried
    const started = Date.now();
    let error: string | undefined;
    try {
      await this.ask(hostAlias, 'true', 'run `true`');
    } catch (err) {
      error = err instanceof AppError ? err.message : (err as Error).message;
    }
    const result: Reachability = {
      hostAlias,
      reachable: error === undefined,
      checkedAt: new Date().toISOString(),
      ms: Date.now() - started,
      ...(error !== undefined ? { error } : {}),
    };
    this.reachability.set(hostAlias, result);
    return result;
  }

  /** The last check of each host, newest first. */
  checks(): Reachability[] {
    return [...this.reachability.values()].sort((a, b) => b.checkedAt.localeCompare(a.checkedAt));
  }

  /** Names of the containers running on a host (`docker ps`), for the log-tail picker. */
  async containers(hostAlias: string): Promise<string[]> {
    const { stdout } = await this.ask(
      hostAlias,
      "docker ps --format '{{.Names}}'",
      'list the containers',
    );
    return stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => CONTAINER.test(l))
      .sort();
  }

  /** A remote project's targets, from make's database on that host; cached until `forget()`. */
  async targets(hostAlias: string, dir: string): Promise<Discovery> {
    const key = `${hostAlias}\0${dir}`;
    let found = this.targetCache.get(key);
    if (!found) {
      found = listTargets(this.listingHost(hostAlias), dir);
      this.targetCache.set(key, found);
      found.then(
        (d) => this.listings.set(key, d.listing),
        () => this.targetCache.delete(key),
      );
    }
    return found;
  }

  listingOf(hostAlias: string, dir: string): Listing | undefined {
    return this.listings.get(`${hostAlias}\0${dir}`);
  }

  /** A remote project's targets as the API shows them; a Makefile make cannot read is a 422. */
  async projectTargets(project: Project, hostAlias: string): Promise<TargetInfo[]> {
    const dir = this.deps.catalog.remoteDir(project, hostAlias);
    try {
      return toTargetInfos(project, await this.targets(hostAlias, dir));
    } catch (err) {
      if (err instanceof MakeError) throw makefileError(project.alias, err, ` on ${hostAlias}`);
      throw err;
    }
  }

  /** Forgets cached remote targets (catalog refresh). */
  forget(): void {
    this.targetCache.clear();
    this.listings.clear();
  }

  /**
   * A host for the listing: the sandbox's scripts sent as one command line (the remote shell runs
   * them), and the makefile text read with `cat` for the safe mode.
   */
  private listingHost(hostAlias: string): ListingHost {
    const files = (dir: string, names: string[]) =>
      `cd ${shellQuote(dir)} && for f in ${names.map(shellQuote).join(' ')}; do [ -f "$f" ] && printf '%s\\0' "$f" && cat -- "$f" && printf '\\0'; done; true`;
    return {
      // ssh's own failures (255) are REMOTE_FAILED; any other exit is the listing's to judge.
      run: (argv) => this.ask(hostAlias, commandLine(argv), 'list the targets', 'any'),
      read: async (dir, names) => {
        if (!names.length) return [];
        const { stdout } = await this.ask(hostAlias, files(dir, names), 'read the Makefile');
        const parts = stdout.split('\0');
        const out: { name: string; text: string }[] = [];
        for (let i = 0; i + 1 < parts.length; i += 2)
          out.push({ name: parts[i]!, text: parts[i + 1]! });
        return out;
      },
      entries: async (dir) =>
        (
          await this.ask(
            hostAlias,
            `cd ${shellQuote(dir)} && ls -A1`,
            'list the project',
            [0, 1, 2],
          )
        ).stdout
          .split('\n')
          .filter(Boolean),
      locate: (dir, name) => `${hostAlias}:${path.posix.resolve(dir, name)}`,
    };
  }

  /** A short command over a reused connection; ssh failures become 502 REMOTE_FAILED in words. */
  private async ask(
    hostAlias: string,
    command: string,
    what: string,
    okCodes: number[] | 'any' = [0],
  ): Promise<{ stdout: string; stderr: string; code: number }> {
    const destination = this.destination(hostAlias);
    const argv = this.deps.ssh.argv({ destination, command, tty: false });
    const { stdout, stderr, code } = await new Promise<{
      stdout: string;
      stderr: string;
      code: number;
    }>((resolve) => {
      execFile(
        argv[0],
        argv.slice(1),
        {
          env: jobEnvironment(this.deps.env ?? process.env, this.deps.envRules),
          timeout: 20_000,
          maxBuffer: 64 * 1024 * 1024,
        },
        (err, out, errOut) =>
          resolve({
            stdout: out,
            stderr: errOut,
            code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
          }),
      );
    });
    if (okCodes === 'any' ? code === 255 || code < 0 : !okCodes.includes(code)) {
      const why =
        (code === 255 && diagnoseSsh(stderr, hostAlias)) ||
        stderr.trim().split('\n').at(-1) ||
        `exit code ${code}`;
      // A VM by its id, as the pages name it.
      const where = VM_ALIAS.test(hostAlias) ? hostAlias.slice('vm:'.length) : hostAlias;
      throw new AppError('REMOTE_FAILED', `could not ${what} on ${where}: ${why}`);
    }
    return { stdout, stderr, code };
  }
}
