// Projects from the mkcli registry (`alias=/abs/dir` lines) and the config file. The catalog issue grows this.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { expandHome } from '../config.js';

export interface Project {
  alias: string;
  dir: string;
  source: 'config' | 'mkcli';
  available: boolean;
  error?: string;
  /** Targets that need a terminal; only config projects set it (the rest use the defaults). */
  interactive?: string[];
}

export function parseRegistry(text: string): { alias: string; dir: string }[] {
  const entries = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    entries.set(line.slice(0, eq).trim(), expandHome(line.slice(eq + 1).trim()));
  }
  return [...entries].map(([alias, dir]) => ({ alias, dir }));
}

function availability(dir: string): Pick<Project, 'available' | 'error'> {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    return { available: false, error: `directory ${dir} does not exist` };
  const makefile = ['GNUmakefile', 'makefile', 'Makefile'].some((f) =>
    existsSync(path.join(dir, f)),
  );
  return makefile ? { available: true } : { available: false, error: `no Makefile in ${dir}` };
}

/** Config projects win over registry entries of the same alias. */
export function loadProjects(config: Pick<Config, 'projects' | 'mkcli'>): Project[] {
  const byAlias = new Map<string, Project>();
  let registry = '';
  try {
    registry = readFileSync(config.mkcli.registry, 'utf8');
  } catch {
    // No registry is a normal setup: projects then come from the config file only.
  }
  for (const { alias, dir } of parseRegistry(registry)) {
    const abs = path.resolve(dir);
    byAlias.set(alias, { alias, dir: abs, source: 'mkcli', ...availability(abs) });
  }
  for (const p of config.projects)
    byAlias.set(p.alias, {
      alias: p.alias,
      dir: p.dir,
      source: 'config',
      ...availability(p.dir),
      ...(p.interactive ? { interactive: p.interactive } : {}),
    });
  return [...byAlias.values()].sort((a, b) => a.alias.localeCompare(b.alias));
}
