// Projects from the mkcli registry (`alias=/abs/dir` lines) and from the config file.
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
  /** Where the project also lives, to run its targets over ssh (config projects only). */
  remote?: { host: string; dir: string }[];
  /** Production (`protected: true` in the config file). */
  protected?: boolean;
}

export const ALIAS = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export interface RegistryEntry {
  alias: string;
  dir: string;
}

/** Reads registry text; malformed lines and duplicates (the last wins) become warnings, never errors. */
export function parseRegistry(text: string): { entries: RegistryEntry[]; warnings: string[] } {
  const entries = new Map<string, string>();
  const warnings: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const alias = eq < 0 ? '' : line.slice(0, eq).trim();
    const dir = eq < 0 ? '' : line.slice(eq + 1).trim();
    if (!alias || !dir) return void warnings.push(`line ${i + 1}: expected alias=/abs/dir`);
    if (!ALIAS.test(alias) || alias.includes('..'))
      return void warnings.push(`line ${i + 1}: "${alias}" is not a valid alias`);
    const expanded = expandHome(dir);
    if (!path.isAbsolute(expanded))
      return void warnings.push(`line ${i + 1}: "${dir}" is not an absolute path`);
    if (entries.has(alias))
      warnings.push(`line ${i + 1}: "${alias}" appears again; this line wins`);
    entries.delete(alias); // the last one wins, and takes its place in the order
    entries.set(alias, path.resolve(expanded));
  });
  return { entries: [...entries].map(([alias, dir]) => ({ alias, dir })), warnings };
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
export function loadProjects(config: Pick<Config, 'projects' | 'mkcli'>): {
  projects: Project[];
  warnings: string[];
} {
  const byAlias = new Map<string, Project>();
  let text = '';
  try {
    text = readFileSync(config.mkcli.registry, 'utf8');
  } catch {
    // No registry is a normal setup: projects then come from the config file only.
  }
  const { entries, warnings } = parseRegistry(text);
  for (const { alias, dir } of entries)
    byAlias.set(alias, { alias, dir, source: 'mkcli', ...availability(dir) });
  for (const p of config.projects) {
    if (byAlias.has(p.alias))
      warnings.push(`"${p.alias}" is in the registry and the config file; the config file wins`);
    byAlias.set(p.alias, {
      alias: p.alias,
      dir: p.dir,
      source: 'config',
      ...availability(p.dir),
      ...(p.interactive ? { interactive: p.interactive } : {}),
      ...(p.remote ? { remote: p.remote } : {}),
      ...(p.protected ? { protected: true } : {}),
    });
  }
  const projects = [...byAlias.values()].sort((a, b) => a.alias.localeCompare(b.alias));
  return { projects, warnings: warnings.map((w) => `${config.mkcli.registry}: ${w}`) };
}
