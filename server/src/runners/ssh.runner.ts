// Remote commands through the system OpenSSH client, so the user's ssh config applies whole
// (ProxyJump, IdentityFile, Port, User, Include), with connection reuse and a diagnosis of
// ssh's own failures. The process handling is the local runner's.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { shellQuote } from '../process/shell.js';
import type { LocalRunner } from './local.runner.js';
import type { OutputSink, RunHandle, Runner } from './runner.js';

export interface SshSettings {
  /** ssh config file (`-F`); a missing file means no user config. */
  configFile: string;
  strictHostKeyChecking: 'yes' | 'accept-new';
  connectTimeoutSeconds: number;
  /** Folder for ControlMaster sockets. */
  controlDir: string;
  /** Seconds a master connection stays up after its last session. */
  controlPersistSeconds?: number;
}

export interface RemoteSpec {
  /** An ssh config alias or `user@host`; never starts with `-`. */
  destination: string;
  /** A shell command, run on the remote as `sh -c '<command>'`. */
  command: string;
  /** `-tt`: the remote command gets a tty, so closing the connection ends it (follow presets, make). */
  tty: boolean;
  env: NodeJS.ProcessEnv;
}

/** Socket paths must stay under ~104 bytes: a socket is `<dir>/<10 hex>-<40 hex of %C>`. */
export function controlDirFor(dataDir: string): string {
  const preferred = path.join(dataDir, 'ssh');
  if (preferred.length + 52 <= 100) return preferred;
  const sha8 = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 8);
  return path.join(tmpdir(), `vmo-ssh-${sha8}`);
}

export function sshArgv(
  s: SshSettings,
  spec: Pick<RemoteSpec, 'destination' | 'tty'> & {
    command: string | null;
    interactive?: boolean;
    /** `no`: use a master connection if there is one, never become one (see SshRunner.argv). */
    master?: 'auto' | 'no';
  },
): [string, ...string[]] {
  if (spec.destination.startsWith('-') || /\s/.test(spec.destination))
    throw new Error(`bad ssh destination "${spec.destination}"`);
  return [
    'ssh',
    '-F',
    existsSync(s.configFile) ? s.configFile : '/dev/null',
    '-o',
    `BatchMode=${spec.interactive ? 'no' : 'yes'}`,
    '-o',
    `StrictHostKeyChecking=${s.strictHostKeyChecking}`,
    '-o',
    `ConnectTimeout=${s.connectTimeoutSeconds}`,
    ...reuse(s, spec),
    spec.tty ? '-tt' : '-T',
    '--',
    spec.destination,
    // ssh joins these with spaces for the remote shell, which then hands one word to sh -c.
    ...(spec.command === null ? [] : ['sh', '-c', shellQuote(spec.command)]),
  ];
}

/**
 * Short commands share one master connection per destination (ControlMaster), which takes a
 * repeated job from ~265 ms to under 100 ms. The socket name holds the destination as written as
 * well as ssh's %C, so two aliases of one host never share a connection (each keeps its own keys
 * and host key check) and a changed ssh config gets a new one. Commands with a tty get their own
 * connection: through a master, the remote tty loses its modes and a cancel may not reach it.
 */
function reuse(
  s: SshSettings,
  spec: Pick<RemoteSpec, 'destination' | 'tty'> & { master?: 'auto' | 'no' },
): string[] {
  if (spec.tty) return ['-o', 'ControlPath=none'];
  return [
    '-o',
    `ControlMaster=${spec.master ?? 'auto'}`,
    '-o',
    `ControlPath=${path.join(s.controlDir, `${controlTag(spec.destination)}-%C`)}`,
    '-o',
    `ControlPersist=${s.controlPersistSeconds ?? 60}`,
  ];
}

const controlTag = (destination: string) =>
  createHash('sha256').update(destination).digest('hex').slice(0, 10);

/** ssh's own failures (exit 255), told in words; the raw message stays in the stderr stream. */
export function diagnoseSsh(stderr: string, destination: string): string | undefined {
  const fingerprint = /(SHA256:[A-Za-z0-9+/=]+)/.exec(stderr)?.[1];
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/.test(stderr)) {
    return `the host key of ${destination} changed or is unknown and was refused${fingerprint ? ` (it offered ${fingerprint})` : ''}; if the change is expected, update known_hosts`;
  }
  if (/Permission denied|Too many authentication failures/.test(stderr))
    return `${destination} refused authentication (check the key or user in the ssh config)`;
  if (/Could not resolve hostname/.test(stderr))
    return `${destination} is unreachable: its host name does not resolve`;
  if (/Connection refused/.test(stderr)) return `${destination} is unreachable: connection refused`;
  if (/timed out|No route to host|Network is unreachable/.test(stderr))
    return `${destination} is unreachable: the connection timed out`;
  return undefined;
}

export class SshRunner implements Runner<RemoteSpec> {
  /** Destinations whose master connection one command is setting up, until when. */
  private readonly claims = new Map<string, number>();

  constructor(
    private readonly local: LocalRunner,
    private readonly settings: SshSettings,
    private readonly now: () => number = Date.now,
  ) {
    mkdirSync(settings.controlDir, { recursive: true, mode: 0o700 });
  }

  /**
   * With `ControlMaster=auto`, two commands that find no master at once both try to become it,
   * and the loser prints "ControlSocket … already exists, disabling multiplexing" into its job's
   * output. So one command at a time per destination may set the master up: the first claims it
   * for as long as a connection may take; the others meanwhile use a master if there is one and
   * never become it (`ControlMaster=no`: then they connect on their own). Once the claim ends, a
   * master is there to share, or the next command claims again.
   */
  argv(spec: Pick<RemoteSpec, 'destination' | 'command' | 'tty'>): [string, ...string[]] {
    if (spec.tty) return sshArgv(this.settings, spec);
    const now = this.now();
    const claimed = (this.claims.get(spec.destination) ?? 0) > now;
    if (!claimed)
      this.claims.set(spec.destination, now + (this.settings.connectTimeoutSeconds + 2) * 1000);
    return sshArgv(this.settings, { ...spec, master: claimed ? 'no' : 'auto' });
  }

  /**
   * The argv a command is stored with (a job's row), without claiming anything: a claim taken
   * here would make the run itself, a moment later, think another command sets the master up,
   * and no job would ever open one.
   */
  describe(spec: Pick<RemoteSpec, 'destination' | 'command' | 'tty'>): [string, ...string[]] {
    return sshArgv(this.settings, spec);
  }

  /**
   * An interactive login shell: `ssh -tt -- <destination>` in a pty. No BatchMode, so a key
   * passphrase or password prompt reaches the person at the terminal; host keys are still checked.
   */
  shellArgv(destination: string): [string, ...string[]] {
    return sshArgv(this.settings, { destination, command: null, tty: true, interactive: true });
  }

  start(spec: RemoteSpec, sink: OutputSink): RunHandle {
    let tail = '';
    const handle = this.local.start(
      { argv: this.argv(spec), env: spec.env, stdoutAs: spec.tty ? 'pty' : 'stdout' },
      {
        write: (stream, data) => {
          if (stream === 'stderr') tail = (tail + data.toString('latin1')).slice(-4096);
          sink.write(stream, data);
        },
      },
    );
    return {
      ...handle,
      pid: handle.pid,
      done: handle.done.then((r) => {
        if (r.exitCode === 255) {
          const diagnosis = diagnoseSsh(tail, spec.destination);
          if (diagnosis) return { ...r, diagnosis };
        }
        if (r.exitCode === 127)
          return { ...r, diagnosis: `command not found on ${spec.destination}` };
        return r;
      }),
    };
  }
}
