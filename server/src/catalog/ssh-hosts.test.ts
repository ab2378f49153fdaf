import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSshHosts, parseSshG, redactPaths } from './ssh-hosts.js';

const localUser = userInfo().username;

/** A temp home with `.ssh/`; `files` maps paths relative to the home to their text. */
function home(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmo-ssh-'));
  mkdirSync(path.join(dir, '.ssh'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

describe(loadSshHosts.name, () => {
  it('lists concrete Host names once, in order, resolved by ssh -G', async () => {
    const h = home({
      '.ssh/config': [
        'Host web1 web2 *.prod !bastion db? web1',
        '  HostName 10.0.0.1',
        '  User deploy',
        '  Port 2222',
        '  IdentityFile ~/.ssh/secret_key',
        '  ProxyCommand nc %h %p',
        'Match host foo exec "true"',
        '  User matched',
        'Host=eq1',
        'HOST upper',
        '  HostName upper.example.com',
        'Host *',
        '  ServerAliveInterval 30',
      ].join('\n'),
    });
    const { hosts, errors } = await loadSshHosts(path.join(h, '.ssh/config'), { home: h });
    expect(errors).toEqual([]);
    expect(hosts).toEqual([
      // A ProxyCommand is said to be there; its text (and the key) never are.
      { alias: 'web1', hostname: '10.0.0.1', user: 'deploy', port: 2222, proxyCommand: true },
      { alias: 'web2', hostname: '10.0.0.1', user: 'deploy', port: 2222, proxyCommand: true },
      { alias: 'eq1', hostname: 'eq1', user: localUser, port: 22 },
      { alias: 'upper', hostname: 'upper.example.com', user: localUser, port: 22 },
    ]);
    // Never a key path or a command's text: only these fields, whatever the config says.
    const shown = ['alias', 'hostname', 'port', 'proxyCommand', 'proxyJump', 'user'];
    for (const host of hosts) for (const key of Object.keys(host)) expect(shown).toContain(key);
    expect(JSON.stringify(hosts)).not.toMatch(/secret_key|nc %h/);
  });

  it('follows Include at top level and in Host/Match blocks, with globs, ~, relative paths and missing files', async () => {
    const h = home({
      '.ssh/config': [
        `Include ${'~/conf.d/*.conf'} "sp ace/x.conf" missing.conf /nonexistent/*/y`,
        'Host top',
        '  Include rel.conf',
        'Match all',
        '  Include ~/m?tch/*/last',
      ].join('\n'),
      'conf.d/a.conf': 'Host a1 a2\n  HostName a.example\n',
      'conf.d/b.conf': 'Host b1\n',
      'conf.d/.hidden.conf': 'Host hidden\n',
      'conf.d/c.txt': 'Host notconf\n',
      '.ssh/sp ace/x.conf': 'Host spaced\n',
      '.ssh/rel.conf': 'Host rel1\n',
      'match/one/last': 'Host deep1\n',
      'match/two/last': 'Host deep2\n',
      'match/two/other': 'Host nope\n',
    });
    const { hosts, errors } = await loadSshHosts(path.join(h, '.ssh/config'), { home: h });
    expect(errors).toEqual([]);
    expect(hosts.map((x) => x.alias)).toEqual([
      'a1',
      'a2',
      'b1',
      'spaced',
      'top',
      'rel1',
      'deep1',
      'deep2',
    ]);
    // ssh -G is given the same home, so it reads the same files.
    expect(hosts[0]).toEqual({ alias: 'a1', hostname: 'a.example', user: localUser, port: 22 });
  });

  it('resolves hosts of an absolute include through ssh itself', async () => {
    const h = home({
      'inc/hosts.conf': 'Host inc1\n  HostName 192.0.2.7\n  Port 2200\n  User ops\n',
    });
    writeFileSync(path.join(h, '.ssh/config'), `Include ${h}/inc/*.conf\n`);
    const { hosts } = await loadSshHosts(path.join(h, '.ssh/config'), { home: h });
    expect(hosts).toEqual([{ alias: 'inc1', hostname: '192.0.2.7', user: 'ops', port: 2200 }]);
  });

  it('returns nothing, without an error, when the config file is missing', async () => {
    expect(await loadSshHosts('/nonexistent/ssh_config')).toEqual({ hosts: [], errors: [] });
  });

  it('keeps the other hosts when ssh -G fails for one, with an error naming it', async () => {
    const h = home({
      '.ssh/config':
        'Host ok\n  HostName 10.9.9.9\nHost broken\n  HostName %Z\n  IdentityFile /keys/id_secret\n',
    });
    const { hosts, errors } = await loadSshHosts(path.join(h, '.ssh/config'), { home: h });
    expect(hosts).toEqual([
      { alias: 'ok', hostname: '10.9.9.9', user: localUser, port: 22 },
      {
        alias: 'broken',
        hostname: 'broken',
        user: null,
        port: 22,
        error: 'vdollar_percent_expand: unknown key %Z',
      },
    ]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^ssh -G broken: .*%Z/);
    expect(errors[0]).not.toContain('id_secret');
  });

  it('gives up on a slow ssh -G after the timeout, killing what it started', async () => {
    const h = home({
      '.ssh/config': 'Match host slow exec "sleep 20"\n  User x\nHost slow fast\n',
    });
    const started = Date.now();
    const { hosts, errors } = await loadSshHosts(path.join(h, '.ssh/config'), {
      home: h,
      timeoutMs: 500,
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(hosts).toEqual([
      { alias: 'slow', hostname: 'slow', user: null, port: 22, error: 'timed out after 500 ms' },
      { alias: 'fast', hostname: 'fast', user: localUser, port: 22 },
    ]);
    expect(errors).toEqual(['ssh -G slow: timed out after 500 ms']);
  });

  it('skips aliases that ssh could read as options or that are not one clean word', async () => {
    const h = home({
      '.ssh/config':
        'Host -oProxyCommand=evil "two words" back\\slash good\nHost "x\ty" "a\u0001b"\n',
    });
    const { hosts, errors } = await loadSshHosts(path.join(h, '.ssh/config'), { home: h });
    expect(hosts.map((x) => x.alias)).toEqual(['good']);
    expect(errors).toHaveLength(5);
    expect(errors[0]).toBe('ssh host "-oProxyCommand=evil" skipped: not a safe alias');
    expect(errors.join('\n')).toContain('"two words"');
  });

  it('stops following includes past depth 16, as ssh does', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 20; i++) files[`.ssh/f${i}`] = `Host h${i}\nInclude f${i + 1}\n`;
    const h = home(files);
    const { hosts, errors } = await loadSshHosts(path.join(h, '.ssh/f0'), {
      home: h,
      timeoutMs: 2_000,
    });
    expect(hosts.map((x) => x.alias)).toEqual(Array.from({ length: 17 }, (_, i) => `h${i}`));
    expect(errors[0]).toMatch(/f16: Include nested deeper than 16$/);
    // ssh does not stop there: it refuses the whole config, so every host says so.
    expect(new Set(hosts.map((x) => x.error))).toEqual(
      new Set(['Too many recursive configuration includes']),
    );
  });

  it('runs at most 8 ssh -G at once', async () => {
    const h = home({});
    const probe = path.join(h, 'probe.sh');
    // Each ssh -G runs this through Match exec: it records how many run at the same time.
    writeFileSync(
      probe,
      [
        'mkdir -p "$1/running"; touch "$1/running/$2"',
        'ls "$1/running" | wc -l >> "$1/counts"',
        'sleep 0.3; rm -f "$1/running/$2"; exit 1',
      ].join('\n'),
    );
    const names = Array.from({ length: 24 }, (_, i) => `n${i}`);
    writeFileSync(
      path.join(h, '.ssh/config'),
      `Match exec "sh ${probe} ${h} %n"\nHost ${names.join(' ')}\n`,
    );
    const { hosts, errors } = await loadSshHosts(path.join(h, '.ssh/config'), { home: h });
    expect(errors).toEqual([]);
    expect(hosts).toHaveLength(24);
    const counts = readFileSync(path.join(h, 'counts'), 'utf8').trim().split('\n').map(Number);
    expect(counts).toHaveLength(24);
    expect(Math.max(...counts)).toBeLessThanOrEqual(8);
    expect(Math.max(...counts)).toBeGreaterThan(1);
  });
});

/**
 * A home as people really keep it: a main config with Host blocks of several names, a Match, a
 * ProxyJump chain and catch-all wildcards, and Includes of every kind ssh_config(5) allows.
 */
function realisticHome(): string {
  return home({
    '.ssh/config': `# ~/.ssh/config
Include ~/.ssh/conf.d/*
Include clients/[ab]*.conf
Include lab/node?.conf lab/[!x]*.lab

Host github.com gitlab.com
    User git
    IdentityFile ~/.ssh/id_ed25519
    IdentitiesOnly yes

Host bastion jump
    HostName bastion.example.net
    User ops
    Port 2222

# app3 is retired
Host app1 app2 !app3
    HostName %h.internal.example.net
    ProxyJump bastion

Host db1
    HostName 10.20.0.5
    User postgres
    ProxyJump bastion,app1

Match originalhost legacy exec "true"
    HostKeyAlgorithms +ssh-rsa
    User root

Host legacy
    HostName 192.0.2.10

Host printer
    HostName %l.lan

Host *.example.net 10.20.*
    ServerAliveInterval 15

Host *
    User me
    ServerAliveInterval 30
    AddKeysToAgent yes
`,
    '.ssh/conf.d/10-work': `Host build-??
    User ci
Host build-01 build-02
    HostName %h.ci.example.com
`,
    // Nested, and first: below `Host nas` it would apply only to nas, as ssh reads it.
    '.ssh/conf.d/20-home': `Include ~/.ssh/home.d/*.conf

Host nas
    HostName 192.168.1.20
    Port 2200
`,
    // An editor's swap file: `*` does not match a leading dot, in glob(3) as here.
    '.ssh/conf.d/.20-home.swp': 'Host editor-junk\n',
    '.ssh/home.d/pi.conf': 'Host pi\n    HostName 192.168.1.30\n    User pi\n',
    '.ssh/clients/acme.conf':
      'Host acme-web acme-db\n    HostName %h.acme.example\n    User acme\n',
    '.ssh/clients/beta.conf': 'Host beta\n    HostName beta.example.org\n    Port 2022\n',
    '.ssh/clients/corp.conf': 'Host corp-only\n',
    '.ssh/clients/alpha.conf.bak': 'Host old-alpha\n',
    '.ssh/lab/node1.conf': 'Host node1\n    HostName 10.0.1.1\n',
    '.ssh/lab/node2.conf': 'Host node2\n    HostName 10.0.1.2\n',
    '.ssh/lab/node10.conf': 'Host node10\n',
    '.ssh/lab/gpu.lab': 'Host gpu\n    HostName 10.0.2.1\n    User lab\n',
    '.ssh/lab/xdebug.lab': 'Host xdebug\n',
  });
}

const REALISTIC_ALIASES = [
  'build-01',
  'build-02',
  'pi',
  'nas',
  'acme-web',
  'acme-db',
  'beta',
  'node1',
  'node2',
  'gpu',
  'github.com',
  'gitlab.com',
  'bastion',
  'jump',
  'app1',
  'app2',
  'db1',
  'legacy',
  'printer',
];

describe('loadSshHosts on a config written the way people write them', () => {
  it('lists every concrete host, each as ssh -G resolves it, and the one ssh rejects with its reason', async () => {
    const h = realisticHome();
    const { hosts, errors } = await loadSshHosts(path.join(h, '.ssh/config'), { home: h });
    expect(hosts).toEqual([
      { alias: 'build-01', hostname: 'build-01.ci.example.com', user: 'ci', port: 22 },
      { alias: 'build-02', hostname: 'build-02.ci.example.com', user: 'ci', port: 22 },
      { alias: 'pi', hostname: '192.168.1.30', user: 'pi', port: 22 },
      { alias: 'nas', hostname: '192.168.1.20', user: 'me', port: 2200 },
      { alias: 'acme-web', hostname: 'acme-web.acme.example', user: 'acme', port: 22 },
      { alias: 'acme-db', hostname: 'acme-db.acme.example', user: 'acme', port: 22 },
      { alias: 'beta', hostname: 'beta.example.org', user: 'me', port: 2022 },
      { alias: 'node1', hostname: '10.0.1.1', user: 'me', port: 22 },
      { alias: 'node2', hostname: '10.0.1.2', user: 'me', port: 22 },
      { alias: 'gpu', hostname: '10.0.2.1', user: 'lab', port: 22 },
      { alias: 'github.com', hostname: 'github.com', user: 'git', port: 22 },
      { alias: 'gitlab.com', hostname: 'gitlab.com', user: 'git', port: 22 },
      { alias: 'bastion', hostname: 'bastion.example.net', user: 'ops', port: 2222 },
      { alias: 'jump', hostname: 'bastion.example.net', user: 'ops', port: 2222 },
      // The ProxyJump chain, first hop first, as ssh -G resolves it.
      {
        alias: 'app1',
        hostname: 'app1.internal.example.net',
        user: 'me',
        port: 22,
        proxyJump: ['bastion'],
      },
      {
        alias: 'app2',
        hostname: 'app2.internal.example.net',
        user: 'me',
        port: 22,
        proxyJump: ['bastion'],
      },
      {
        alias: 'db1',
        hostname: '10.20.0.5',
        user: 'postgres',
        port: 22,
        proxyJump: ['bastion', 'app1'],
      },
      { alias: 'legacy', hostname: '192.0.2.10', user: 'root', port: 22 },
      {
        alias: 'printer',
        hostname: 'printer',
        user: null,
        port: 22,
        error: 'vdollar_percent_expand: unknown key %l',
      },
    ]);
    expect(hosts.map((x) => x.alias)).toEqual(REALISTIC_ALIASES);
    expect(errors).toEqual(['ssh -G printer: vdollar_percent_expand: unknown key %l']);
  });

  it('keeps listing the hosts of a config with an Include loop, each unusable with ssh’s reason', async () => {
    const h = realisticHome();
    // A classic: a file in conf.d that includes conf.d/*, itself among them.
    writeFileSync(path.join(h, '.ssh/conf.d/30-more'), 'Include ~/.ssh/conf.d/*\nHost more\n');
    const { hosts, errors } = await loadSshHosts(path.join(h, '.ssh/config'), { home: h });
    expect(hosts.map((x) => x.alias)).toEqual([
      ...REALISTIC_ALIASES.slice(0, 4),
      'more',
      ...REALISTIC_ALIASES.slice(4),
    ]);
    for (const host of hosts)
      expect(host).toEqual({
        alias: host.alias,
        hostname: host.alias,
        user: null,
        port: 22,
        error: 'Too many recursive configuration includes',
      });
    expect(errors).toHaveLength(hosts.length);
    expect(errors[0]).toBe('ssh -G build-01: Too many recursive configuration includes');
  });

  it('names the included file and line of a bad option, on every host, since ssh refuses the whole config', async () => {
    const h = realisticHome();
    // macOS's option, copied to a Linux box: Debian's ssh does not know it.
    const beta = path.join(h, '.ssh/clients/beta.conf');
    writeFileSync(beta, 'Host beta\n    HostName beta.example.org\n    UseKeychain yes\n');
    const { hosts } = await loadSshHosts(path.join(h, '.ssh/config'), { home: h });
    expect(hosts.map((x) => x.alias)).toEqual(REALISTIC_ALIASES);
    const reasons = new Set(hosts.map((x) => x.error));
    // The file is one of the configs, so its path is shown, not redacted.
    expect(reasons).toEqual(new Set([`${beta}: line 3: Bad configuration option: usekeychain`]));
  });

  it('accepts the same option once the config says to ignore it', async () => {
    const h = realisticHome();
    const config = path.join(h, '.ssh/config');
    writeFileSync(config, `IgnoreUnknown UseKeychain\n${readFileSync(config, 'utf8')}`);
    writeFileSync(
      path.join(h, '.ssh/clients/beta.conf'),
      'Host beta\n    HostName beta.example.org\n    UseKeychain yes\n',
    );
    const { hosts } = await loadSshHosts(config, { home: h });
    expect(hosts.filter((x) => x.error).map((x) => x.alias)).toEqual(['printer']);
    expect(hosts.find((x) => x.alias === 'beta')).toEqual({
      alias: 'beta',
      hostname: 'beta.example.org',
      user: 'me',
      port: 22,
    });
  });
});

describe(parseSshG.name, () => {
  it('reads only hostname, user, port, the ProxyJump chain and whether a ProxyCommand is set', () => {
    const out =
      'user bob\nhostname h.example\nport 2022\nidentityfile ~/.ssh/id_ed25519\nproxycommand nc\n';
    expect(parseSshG(out, 'h')).toEqual({
      alias: 'h',
      hostname: 'h.example',
      user: 'bob',
      port: 2022,
      proxyCommand: true,
    });
    expect(
      parseSshG('hostname h\nproxyjump ops@bastion:2222, app1\nproxycommand none\n', 'h'),
    ).toEqual({
      alias: 'h',
      hostname: 'h',
      user: null,
      port: 22,
      proxyJump: ['ops@bastion:2222', 'app1'],
    });
    expect(parseSshG('proxyjump none\n', 'h')).toEqual({
      alias: 'h',
      hostname: 'h',
      user: null,
      port: 22,
    });
    expect(parseSshG('port x\n', 'h')).toEqual({ alias: 'h', hostname: 'h', user: null, port: 22 });
  });
});

describe(redactPaths.name, () => {
  it('hides every path except the config files', () => {
    expect(redactPaths('/c/cfg line 2: bad key /home/u/.ssh/id_rsa and ~/k', ['/c/cfg'])).toBe(
      '/c/cfg line 2: bad key <path> and <path>',
    );
  });
});
