// The request builders on a catalog reduced to what they ask of it: what each job type stores,
// launches and audits, and every rail they apply before anything is stored.
import type { Protection, TargetInfo, User } from '@vmo/protocol';
import { describe, expect, it } from 'vitest';
import { Access } from '../../auth/permissions.js';
import type { CatalogService } from '../../catalog/catalog.service.js';
import { AppError } from '../../errors.js';
import type { RemoteService } from '../../remote/remote.service.js';
import type { SshRunner } from '../../runners/ssh.runner.js';
import { fanout } from './fanout.js';
import { localTarget } from './local-target.js';
import { remoteTarget } from './remote-target.js';
import type { RequestContext } from './request.js';
import { sshCommand } from './ssh-command.js';
import { terminal } from './terminal.js';

const target = (name: string, more: Partial<TargetInfo> = {}): TargetInfo => ({
  name,
  description: '',
  interactive: false,
  phony: true,
  ...more,
});
const TARGETS = [
  target('build'),
  target('deploy', { confirm: true, exclusive: true }),
  target('console', { interactive: true }),
];
const PROJECT = { alias: 'shop', dir: '/srv/shop' };
const user = (role: User['role']): User => ({
  id: role,
  username: role,
  role,
  provider: 'local',
  createdAt: '',
});

function context(opts: { protect?: Protection; unreachable?: string[]; adHoc?: boolean } = {}) {
  const catalog = {
    target: (alias: string, name: string) => {
      const t = TARGETS.find((x) => x.name === name);
      if (alias !== 'shop' || !t) throw new AppError('UNKNOWN_TARGET', `no ${alias}:${name}`);
      return Promise.resolve({ project: PROJECT, target: t });
    },
    project: () => PROJECT,
    protectionOf: () => opts.protect ?? null,
    aliasExecutable: () => null,
    remoteDir: (_p: unknown, host: string) => {
      if (host === 'nowhere') throw new AppError('UNKNOWN_HOST', `not set up on ${host}`);
      return `/opt/shop`;
    },
    preset: (name: string) => ({
      name,
      command: 'tail -n {lines} /var/log/app.log',
      follow: false,
      params: { lines: '^[0-9]+$' },
    }),
    vms: () => [
      { id: 'staging/web1', environment: 'staging', name: 'web1', sshAlias: 'stg-web1' },
      { id: 'staging/web2', environment: 'staging', name: 'web2', sshAlias: null },
      { id: 'prod/app9', environment: 'prod', name: 'app9', sshAlias: 'prod-app9' },
    ],
  };
  const remote = {
    destination: (host: string) => ({ host }),
    place: (host: string) => {
      const vm = /^vm:(.+)\/(.+)$/.exec(host);
      return vm
        ? {
            host: vm[2] === 'web1' ? 'stg-web1' : host,
            environment: vm[1]!,
            vm: `${vm[1]}/${vm[2]}`,
          }
        : { host, environment: null, vm: null };
    },
    projectTargets: (_p: unknown, host: string) =>
      opts.unreachable?.includes(host)
        ? Promise.reject(new AppError('REMOTE_FAILED', `${host} does not answer`))
        : Promise.resolve(TARGETS),
  };
  const ssh = {
    describe: (spec: { command: string }) => ['ssh', '--', spec.command],
    shellArgv: () => ['ssh', '-tt', 'host'],
  };
  return {
    catalog: catalog as unknown as CatalogService,
    remote: remote as unknown as RemoteService,
    ssh: ssh as unknown as SshRunner,
    access: new Access({ allowAdHoc: opts.adHoc ?? false, hostShells: 'admin' }),
    env: () => ({ PATH: '/usr/bin' }),
  } satisfies RequestContext;
}

describe('the request builders', () => {
  it('store a local target with its request as data, never its confirmation', async () => {
    const built = await localTarget(context(), {
      alias: 'shop',
      target: 'deploy',
      args: { ENV: 'qa' },
      confirm: true,
    });
    expect(built.row).toMatchObject({
      project: 'shop',
      target: 'deploy',
      command: 'make deploy ENV=qa',
      request: {
        kind: 'stream',
        request: { alias: 'shop', target: 'deploy', args: { ENV: 'qa' } },
      },
    });
    expect(built.exclusiveKey).toBe('shop:deploy');
    expect(built.launch).toMatchObject({ runner: 'local', spec: { cwd: '/srv/shop' } });
    expect(built.audit).toEqual({
      action: 'job.run',
      details: { command: 'make deploy ENV=qa', project: 'shop', confirmed: 'asked' },
    });
  });

  it('refuse a @confirm target unconfirmed, a protected place without its name, an interactive target unforced', async () => {
    const ctx = context();
    await expect(localTarget(ctx, { alias: 'shop', target: 'deploy' })).rejects.toThrow(
      /asks for confirmation/,
    );
    await expect(localTarget(ctx, { alias: 'shop', target: 'console' })).rejects.toThrow(
      /needs a terminal/,
    );
    const guarded = context({ protect: { kind: 'project', name: 'shop' } });
    await expect(
      localTarget(guarded, { alias: 'shop', target: 'build', confirm: true }),
    ).rejects.toThrow('project "shop" is protected: type its name to confirm (confirm: "shop")');
    const typed = await localTarget(guarded, { alias: 'shop', target: 'build', confirm: 'shop' });
    expect(typed.audit.details).toMatchObject({ confirmed: 'typed' });
  });

  it('run a remote target over ssh with a tty, keyed per host, and name a target the host lacks', async () => {
    const built = await remoteTarget(context(), { alias: 'shop', target: 'build' }, 'web1');
    expect(built.row).toMatchObject({
      host: 'web1',
      command: 'ssh web1 -- make build',
      request: { kind: 'stream', request: { alias: 'shop', target: 'build', hostAlias: 'web1' } },
    });
    expect(built.launch).toMatchObject({ runner: 'ssh', spec: { tty: true } });
    await expect(
      remoteTarget(context(), { alias: 'shop', target: 'nope' }, 'web1'),
    ).rejects.toThrow('project "shop" has no target "nope" on web1');
  });

  it('render a preset with its params, and keep ad-hoc commands for admins with allowAdHoc', () => {
    const preset = sshCommand(
      context(),
      { hostAlias: 'web1', preset: 'logs', params: { lines: '50' } },
      user('operator'),
    );
    expect(preset.row).toMatchObject({
      command: "ssh web1 -- tail -n '50' /var/log/app.log",
      preset: 'logs',
      request: { kind: 'ssh', request: { hostAlias: 'web1', preset: 'logs' } },
    });
    expect(() =>
      sshCommand(context(), { hostAlias: 'web1', command: 'id' }, user('admin')),
    ).toThrow(/ad-hoc commands are turned off/);
    const adHoc = sshCommand(
      context({ adHoc: true }),
      { hostAlias: 'web1', command: 'id' },
      user('admin'),
    );
    expect(adHoc.audit.action).toBe('job.adhoc');
  });

  it("open a host's shell only for whom terminal.hostShells allows", async () => {
    const ctx = context({ adHoc: true });
    await expect(terminal(ctx, { hostAlias: 'web1' }, user('operator'))).rejects.toThrow(
      /need the admin role/,
    );
    const shell = await terminal(ctx, { hostAlias: 'web1', cols: 80 }, user('admin'));
    expect(shell.launch).toMatchObject({ runner: 'pty', spec: { cols: 80, rows: 32 } });
    expect(shell.row.request).toEqual({
      kind: 'terminal',
      request: { hostAlias: 'web1', cols: 80 },
    });
  });

  it("fan out over an environment's VMs, a host that does not answer still getting its (failing) job", async () => {
    const plan = await fanout(
      context({ unreachable: ['vm:staging/web2'] }),
      { environment: 'staging', alias: 'shop', target: 'build', args: { V: '1' } },
      user('operator'),
    );
    expect(plan.hosts).toEqual(['vm:staging/web1', 'vm:staging/web2']);
    // Each child names its VM, whichever ssh entry reaches it.
    expect(plan.children.map((c) => [c.row.command, c.row.host, c.row.vm])).toEqual([
      ['make build V=1 @ staging/web1', 'stg-web1', 'staging/web1'],
      ['make build V=1 @ staging/web2', 'vm:staging/web2', 'staging/web2'],
    ]);
    expect(plan.group).toMatchObject({
      command: 'fanout staging -- make build V=1',
      host: 'staging',
      environment: 'staging',
      request: { kind: 'fanout', request: { environment: 'staging', target: 'build' } },
    });
  });

  it('refuse a fan-out as a whole when a host refuses for another reason than not answering', async () => {
    await expect(
      fanout(
        context(),
        { hostAliases: ['web1', 'nowhere'], alias: 'shop', target: 'build' },
        user('operator'),
      ),
    ).rejects.toThrow('not set up on nowhere');
    await expect(
      fanout(
        context({ unreachable: ['a', 'b'] }),
        { hostAliases: ['a', 'b'], alias: 'shop', target: 'build' },
        user('operator'),
      ),
    ).rejects.toThrow('a does not answer');
    await expect(
      fanout(context(), { environment: 'qa', preset: 'logs' }, user('operator')),
    ).rejects.toThrow('no VMs in environment "qa"');
  });
});
