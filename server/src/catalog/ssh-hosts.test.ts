import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandGlob, includePath, loadSshHosts, parseSshG, redactPaths } from './ssh-hosts.js';

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
      { alias: 'web1', hostname: '10.0.0.1', user: 'deploy', port: 2222 },
      { alias: 'web2', hostname: '10.0.0.1', user: 'deploy', port: 2222 },
      { alias: 'eq1', hostname: 'eq1', user: localUser, port: 22 },
      { alias: 'upper', hostname: 'upper.example.com', user: localUser, port: 22 },
    ]);
    for (const host of hosts)
      expect(Object.keys(host).sort()).toEqual(['alias', 'hostname', 'port', 'user']);
  });

  it('follows Include at top level and in Host/Match blocks, with globs, ~, relative paths, cycles and missing files', async () => {
    const h = home({
      '.ssh/config': [
        `Include ${'~/conf.d/*.conf'} "sp ace/x.conf" missing.conf /nonexistent/*/y`,
        'Host top',
        '  Include rel.conf',
        'Match all',
        '  Include ~/m?tch/*/last',
      ].join('\n'),
      'conf.d/a.conf': 'Host a1 a2\n  HostName a.example\nInclude ~/.ssh/config\n',
      'conf.d/b.conf': 'Host b1\n',
      'conf.d/.hidden.conf': 'Host hidden\n',
      'conf.d/c.txt': 'Host notconf\n',
      '.ssh/sp ace/x.conf': 'Host spaced\n',
      '.ssh/rel.conf': 'Host rel1\nInclude rel.conf\n',
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
    // ssh -G reads ~ from the passwd entry, not this test's home, so a1 keeps ssh's defaults.
    expect(hosts[0]).toEqual({ alias: 'a1', hostname: 'a1', user: localUser, port: 22 });
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
      { alias: 'broken', hostname: 'broken', user: null, port: 22 },
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
      { alias: 'slow', hostname: 'slow', user: null, port: 22 },
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

describe(includePath.name, () => {
  it('puts relative paths in ~/.ssh and expands ~', () => {
    expect(includePath('a/b.conf', '/home/u')).toBe('/home/u/.ssh/a/b.conf');
    expect(includePath('~/x.conf', '/home/u')).toBe('/home/u/x.conf');
    expect(includePath('/etc/ssh/x', '/home/u')).toBe('/etc/ssh/x');
  });
});

describe(expandGlob.name, () => {
  it('expands * and ? in any segment, sorted, skipping dot files and non-matches', async () => {
    const h = home({
      'a1/x.c': '',
      'a2/y.c': '',
      'b1/z.c': '',
      'a1/.h.c': '',
      'a1/w.d': '',
      'b1/(x).c': '',
    });
    expect(await expandGlob(`${h}/a?/*.c`)).toEqual([`${h}/a1/x.c`, `${h}/a2/y.c`]);
    expect(await expandGlob(`${h}/*/z.c`)).toEqual([`${h}/b1/z.c`]);
    expect(await expandGlob(`${h}/nope/*`)).toEqual([]);
    expect(await expandGlob(`${h}/b?/(x).c`)).toEqual([`${h}/b1/(x).c`]);
    expect(await expandGlob(`${h}/b1/(x).c`)).toEqual([`${h}/b1/(x).c`]);
    expect(await expandGlob(`${h}/b1/x.c`)).toEqual([]);
  });
});

describe(parseSshG.name, () => {
  it('reads only hostname, user and port', () => {
    const out =
      'user bob\nhostname h.example\nport 2022\nidentityfile ~/.ssh/id_ed25519\nproxycommand nc\n';
    expect(parseSshG(out, 'h')).toEqual({
      alias: 'h',
      hostname: 'h.example',
      user: 'bob',
      port: 2022,
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
