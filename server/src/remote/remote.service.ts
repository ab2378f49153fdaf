// Where a host alias leads (an ssh config alias, or `vm:<env>/<name>` for a VM without one), and the
// short questions asked over ssh outside any job, such as the containers running on a host.
import { execFile } from 'node:child_process';
import type { CatalogService } from '../catalog/catalog.service.js';
import { AppError } from '../errors.js';
import { jobEnvironment } from '../jobs/make-command.js';
import { diagnoseSsh, type SshRunner } from '../runners/ssh.runner.js';

const VM_ALIAS = /^vm:([A-Za-z0-9][A-Za-z0-9_.-]*)\/([A-Za-z0-9][A-Za-z0-9_.-]*)$/;
const CONTAINER = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export class RemoteService {
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
    const destination = this.destination(hostAlias);
    const argv = this.deps.ssh.argv({
      destination,
      command: "docker ps --format '{{.Names}}'",
      tty: false,
    });
    const { stdout, stderr, code } = await new Promise<{
      stdout: string;
      stderr: string;
      code: number;
    }>((resolve) => {
      execFile(
        argv[0],
        argv.slice(1),
        { env: jobEnvironment(this.deps.env ?? process.env), timeout: 20_000 },
        (err, out, errOut) =>
          resolve({
            stdout: out,
            stderr: errOut,
            code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
          }),
      );
    });
    if (code !== 0) {
      const why =
        (code === 255 && diagnoseSsh(stderr, hostAlias)) ||
        stderr.trim().split('\n').at(-1) ||
        `exit code ${code}`;
      throw new AppError('REMOTE_FAILED', `could not list the containers on ${hostAlias}: ${why}`);
    }
    return stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => CONTAINER.test(l))
      .sort();
  }
}
