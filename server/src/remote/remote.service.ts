// Where a host alias leads (an ssh config alias, or `vm:<env>/<name>` for a VM without one), and the
// short questions asked over ssh outside any job, such as the containers running on a host.
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { TargetInfo } from '@vmo/protocol';
import { toTargetInfos, type CatalogService } from '../catalog/catalog.service.js';
import { fromMakeDatabase, MakeError, type Discovery } from '../catalog/makefile.js';
import type { Project } from '../catalog/projects.js';
import { shellQuote } from '../catalog/presets.js';
import { AppError } from '../errors.js';
import { jobEnvironment } from '../jobs/make-command.js';
import { diagnoseSsh, type SshRunner } from '../runners/ssh.runner.js';

const VM_ALIAS = /^vm:([A-Za-z0-9][A-Za-z0-9_.-]*)\/([A-Za-z0-9][A-Za-z0-9_.-]*)$/;
const CONTAINER = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export class RemoteService {
  private readonly targetCache = new Map<string, Promise<Discovery>>();

  constructor(
    private readonly deps: { catalog: CatalogService; ssh: SshRunner; env?: NodeJS.ProcessEnv },
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
      found = this.discover(hostAlias, dir);
      this.targetCache.set(key, found);
      found.catch(() => this.targetCache.delete(key));
    }
    return found;
  }

  /** A remote project's targets as the API shows them; a Makefile make cannot read is a 404 for that project. */
  async projectTargets(project: Project, hostAlias: string): Promise<TargetInfo[]> {
    const dir = this.deps.catalog.remoteDir(project, hostAlias);
    try {
      return toTargetInfos(project, await this.targets(hostAlias, dir));
    } catch (err) {
      if (err instanceof MakeError)
        throw new AppError(
          'UNKNOWN_PROJECT',
          `make cannot read the Makefile of "${project.alias}" on ${hostAlias}: ${err.message}`,
        );
      throw err;
    }
  }

  /** Forgets cached remote targets (catalog refresh). */
  forget(): void {
    this.targetCache.clear();
  }

  private async discover(hostAlias: string, dir: string): Promise<Discovery> {
    const db = await this.ask(
      hostAlias,
      `LC_ALL=C make -C ${shellQuote(dir)} --no-print-directory -pRrq :`,
      'read the Makefile',
      [0, 1, 2],
    );
    return fromMakeDatabase(db.stdout, db.stderr, async (names) => {
      if (!names.length) return { files: [], text: '' };
      const cat = await this.ask(
        hostAlias,
        `cd ${shellQuote(dir)} && cat -- ${names.map(shellQuote).join(' ')}`,
        'read the Makefile',
        [0, 1],
      );
      return {
        files: names.map((n) => `${hostAlias}:${path.posix.resolve(dir, n)}`),
        text: cat.stdout,
      };
    });
  }

  /** A short command over a reused connection; ssh failures become 502 REMOTE_FAILED in words. */
  private async ask(
    hostAlias: string,
    command: string,
    what: string,
    okCodes = [0],
  ): Promise<{ stdout: string; stderr: string }> {
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
          env: jobEnvironment(this.deps.env ?? process.env),
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
    if (!okCodes.includes(code)) {
      const why =
        (code === 255 && diagnoseSsh(stderr, hostAlias)) ||
        stderr.trim().split('\n').at(-1) ||
        `exit code ${code}`;
      throw new AppError('REMOTE_FAILED', `could not ${what} on ${hostAlias}: ${why}`);
    }
    return { stdout, stderr };
  }
}
