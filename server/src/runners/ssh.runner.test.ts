import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalRunner } from './local.runner.js';
import { controlDirFor, diagnoseSsh, SshRunner, sshArgv, type SshSettings } from './ssh.runner.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vmo-sshargv-'));
const config = path.join(dir, 'config');
writeFileSync(config, 'Host x\n');
const settings: SshSettings = {
  configFile: config,
  strictHostKeyChecking: 'accept-new',
  connectTimeoutSeconds: 7,
  controlDir: '/d',
};

describe(sshArgv.name, () => {
  it('builds the non-interactive argv with reuse, one quoted word for sh -c', () => {
    const argv = sshArgv(settings, { destination: 'web1', command: "echo 'hi'; ls", tty: false });
    expect(argv.slice(0, 9)).toEqual([
      'ssh',
      '-F',
      config,
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=accept-new',
      '-o',
      'ConnectTimeout=7',
    ]);
    expect(argv).toContain('ControlMaster=auto');
    expect(argv.find((a) => a.startsWith('ControlPath='))).toMatch(
      /^ControlPath=\/d\/[0-9a-f]{10}-%C$/,
    );
    expect(argv.slice(-6)).toEqual(['-T', '--', 'web1', 'sh', '-c', `'echo '\\''hi'\\''; ls'`]);
  });

  it('gives tty commands their own connection', () => {
    const argv = sshArgv(settings, { destination: 'web1', command: 'top', tty: true });
    expect(argv).toContain('ControlPath=none');
    expect(argv).not.toContain('ControlMaster=auto');
    expect(argv).toContain('-tt');
  });

  it('opens an interactive shell without BatchMode and without a command', () => {
    const argv = sshArgv(settings, {
      destination: 'root@10.0.0.1',
      command: null,
      tty: true,
      interactive: true,
    });
    expect(argv).toContain('BatchMode=no');
    expect(argv.slice(-2)).toEqual(['--', 'root@10.0.0.1']);
  });

  it('uses no user config when the file is missing, and never turns host key checks off', () => {
    const argv = sshArgv(
      { ...settings, configFile: '/nonexistent', strictHostKeyChecking: 'yes' },
      { destination: 'h', command: 'true', tty: false },
    );
    expect(argv.slice(1, 3)).toEqual(['-F', '/dev/null']);
    expect(argv).toContain('StrictHostKeyChecking=yes');
    expect(argv.join(' ')).not.toMatch(/StrictHostKeyChecking=no/);
  });

  it.each(['-oProxyCommand=x', 'a b', 'tab\there'])('refuses the destination %j', (destination) => {
    expect(() => sshArgv(settings, { destination, command: 'true', tty: false })).toThrow(
      'bad ssh destination',
    );
  });
});

describe(controlDirFor.name, () => {
  it('keeps sockets under the data dir when the path is short enough', () => {
    expect(controlDirFor('/srv/vmo/data')).toBe('/srv/vmo/data/ssh');
  });

  it('moves them to a short folder when the socket path would pass ~100 bytes', () => {
    const long = '/home/someone/projects/with/a/very/long/path/to/the/vm-orchestrator/data';
    expect(controlDirFor(long)).toMatch(new RegExp(`^${tmpdir()}/vmo-ssh-[0-9a-f]{8}$`));
    expect(controlDirFor(long)).toBe(controlDirFor(long));
  });
});

describe(diagnoseSsh.name, () => {
  it.each([
    [
      '@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nSHA256:abcDEF123+/= offered',
      /host key of h changed .*\(it offered SHA256:abcDEF123\+\/=\)/,
    ],
    ['Host key verification failed.', /host key of h changed or is unknown and was refused; if/],
    ['root@h: Permission denied (publickey).', /h refused authentication/],
    ['Received disconnect: Too many authentication failures', /h refused authentication/],
    [
      'ssh: Could not resolve hostname h: Name or service not known',
      /h is unreachable: its host name does not resolve/,
    ],
    ['ssh: connect to host h port 22: Connection refused', /h is unreachable: connection refused/],
    [
      'ssh: connect to host h port 22: Connection timed out',
      /h is unreachable: the connection timed out/,
    ],
    [
      'ssh: connect to host h port 22: No route to host',
      /h is unreachable: the connection timed out/,
    ],
  ])('tells %j in words', (stderr, words) => {
    expect(diagnoseSsh(stderr, 'h')).toMatch(words);
  });

  it('says nothing about messages it does not know', () => {
    expect(diagnoseSsh('something else', 'h')).toBeUndefined();
  });
});

describe(SshRunner.name, () => {
  it('lets one command at a time per destination set a master up; the others never race it', () => {
    let now = 1_000_000;
    const runner = new SshRunner(
      new LocalRunner({ lingerMs: 10, graceMs: 10 }),
      { ...settings, controlDir: mkdtempSync(path.join(tmpdir(), 'vmo-ctl-')) },
      () => now,
    );
    const master = (destination: string) =>
      runner
        .argv({ destination, command: 'true', tty: false })
        .find((a) => a.startsWith('ControlMaster='));
    // What a job's row stores is described, not claimed: the run itself may still set up the master.
    expect(runner.describe({ destination: 'web1', command: 'true', tty: false })).toContain(
      'ControlMaster=auto',
    );
    expect(master('web1')).toBe('ControlMaster=auto');
    expect(master('web1')).toBe('ControlMaster=no');
    expect(master('web2')).toBe('ControlMaster=auto');
    now += 8_999; // the claim lasts the connect timeout (7 s) and 2 s more
    expect(master('web1')).toBe('ControlMaster=no');
    now += 2;
    expect(master('web1')).toBe('ControlMaster=auto');
    expect(runner.argv({ destination: 'web1', command: 'top', tty: true })).toContain(
      'ControlPath=none',
    );
  });
});
