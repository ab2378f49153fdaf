import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findOnPath } from './programs.js';

describe(findOnPath.name, () => {
  const root = mkdtempSync(path.join(tmpdir(), 'vmo-path-'));
  const first = path.join(root, 'first');
  const second = path.join(root, 'second');
  mkdirSync(first);
  mkdirSync(second);
  // In `first` the alias is a plain file; in `second` an executable.
  writeFileSync(path.join(first, 'app'), 'not a program');
  chmodSync(path.join(first, 'app'), 0o644);
  writeFileSync(path.join(second, 'app'), '#!/bin/sh\n');
  chmodSync(path.join(second, 'app'), 0o755);
  writeFileSync(path.join(first, 'only-plain'), 'x');
  chmodSync(path.join(first, 'only-plain'), 0o644);

  it('finds the first executable of that name, skipping files that are not executable', () => {
    expect(findOnPath('app', [first, second].join(path.delimiter))).toBe(path.join(second, 'app'));
  });

  it('skips empty PATH entries', () => {
    expect(findOnPath('app', ['', second, ''].join(path.delimiter))).toBe(path.join(second, 'app'));
  });

  it('returns null when no entry holds an executable of that name', () => {
    expect(findOnPath('only-plain', [first, second].join(path.delimiter))).toBeNull();
    expect(findOnPath('missing', [first, second].join(path.delimiter))).toBeNull();
    expect(findOnPath('app', '')).toBeNull();
    expect(findOnPath('app', undefined)).toBeNull();
  });

  it.each(['../second/app', 'second/app', '/bin/sh', '-app', '.app', '', 'a b'])(
    'refuses the name %j, which is not an alias',
    (name) => {
      // `root` holds second/app, so a path-like name would otherwise resolve.
      expect(findOnPath(name, [root, first].join(path.delimiter))).toBeNull();
    },
  );

  // Regression (bug found by this test): access(X_OK) also succeeds for a directory, which was then
  // taken for the mkcli executable, and the job failed with EACCES instead of running make.
  it('does not take a directory named like the alias for an executable', () => {
    mkdirSync(path.join(first, 'tools'));
    expect(findOnPath('tools', first)).toBeNull();
  });
});
