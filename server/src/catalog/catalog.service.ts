// The catalog as the rest of the server asks it: projects and their targets, ssh hosts, VMs and
// presets, each re-read on refresh (or when their files change), or a 404 saying what does not exist.
import { statSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { ProjectInfo, TargetInfo } from '@vmo/protocol';
import type { Config } from '../config.js';
import type { CatalogRepository } from '../db/catalog.repository.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { findOnPath } from '../jobs/make-command.js';
import { discoverTargets, listTargetsVia, MakeError, type Discovery } from './makefile.js';
import { loadProjects, type Project } from './projects.js';
import type { Preset } from './presets.js';
import { loadSshHosts, type SshHost } from './ssh-hosts.js';
import { loadVms, type Vm } from './vm-config.js';

export const DEFAULT_INTERACTIVE = ['ssh', 'shell', 'console', 'create'];

export interface CatalogDeps {
  config: Pick<Config, 'projects' | 'mkcli' | 'ssh' | 'vmConfig'>;
  presets: Preset[];
  log: Logger;
  store?: CatalogRepository;
  /** PATH where mkcli aliases are looked up (the jobs' PATH). */
  path?: string;
}

interface CachedTargets {
  discovery: Promise<Discovery>;
  /** mtimes of the makefiles read; a change re-reads them. */
  mtimes?: Map<string, number>;
}

const mtimeOf = (file: string) => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
};

/** What the API says of each target: `interactive` from the annotation or the project's list. */
export function toTargetInfos(project: Project, discovery: Discovery): TargetInfo[] {
  const interactive = project.interactive ?? DEFAULT_INTERACTIVE;
  return discovery.targets.map(({ interactive: marked, ...t }) => ({
    ...t,
    interactive: !!marked || interactive.includes(t.name),
  }));
}

export class CatalogService {
  private projectList: Project[] = [];
  private hostList: SshHost[] = [];
  private vmList: Vm[] = [];
  private vmErrors: { environment: string; error: string }[] = [];
  private readonly targetCache = new Map<string, CachedTargets>();
  private refreshing: Promise<void> | null = null;

  constructor(private readonly deps: CatalogDeps) {}

  /** Re-reads the registry, config projects, ssh config and vm-config, and forgets cached targets. */
  refresh(): Promise<void> {
    this.refreshing ??= this.load().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async load(): Promise<void> {
    const { config, log, store } = this.deps;
    const { projects, warnings } = loadProjects(config);
    for (const w of warnings) log.warn(w);
    this.projectList = projects;
    this.targetCache.clear();
    const hosts = await loadSshHosts(config.ssh.config);
    for (const e of hosts.errors) log.warn({ sshConfig: config.ssh.config }, e);
    this.hostList = hosts.hosts;
    const vms = await loadVms(config.vmConfig.dir, this.hostList);
    for (const e of vms.errors) log.warn({ environment: e.environment }, e.error);
    this.vmList = vms.vms;
    this.vmErrors = vms.errors;
    if (store) {
      await store.replaceProjects(
        projects.map((p) => ({
          alias: p.alias,
          dir: p.dir,
          source: p.source,
          available: p.available,
          error: p.error ?? null,
        })),
      );
      await store.replaceVms(this.vmList);
    }
  }

  projects(): ProjectInfo[] {
    return this.projectList.map(({ interactive: _interactive, ...p }) => p);
  }

  /** The remote dir of a project on a host, or 404 UNKNOWN_HOST. */
  remoteDir(project: Project, hostAlias: string): string {
    const remote = project.remote?.find((r) => r.host === hostAlias);
    if (!remote)
      throw new AppError(
        'UNKNOWN_HOST',
        `project "${project.alias}" is not set up on host "${hostAlias}" (projects[].remote)`,
      );
    return remote.dir;
  }

  project(alias: string): Project {
    const project = this.projectList.find((p) => p.alias === alias);
    if (!project) throw new AppError('UNKNOWN_PROJECT', `no project "${alias}"`);
    return project;
  }

  async targets(alias: string): Promise<TargetInfo[]> {
    const project = this.project(alias);
    if (!project.available)
      throw new AppError(
        'UNKNOWN_PROJECT',
        `project "${alias}" is unavailable: ${project.error ?? ''}`,
      );
    let discovery: Discovery;
    try {
      discovery = await this.discovery(project);
    } catch (err) {
      if (err instanceof MakeError)
        throw new AppError(
          'UNKNOWN_PROJECT',
          `make cannot read the Makefile of "${alias}": ${err.message}`,
        );
      throw err;
    }
    return toTargetInfos(project, discovery);
  }

  async target(alias: string, name: string): Promise<{ project: Project; target: TargetInfo }> {
    const target = (await this.targets(alias)).find((t) => t.name === name);
    if (!target) throw new AppError('UNKNOWN_TARGET', `project "${alias}" has no target "${name}"`);
    return { project: this.project(alias), target };
  }

  /** An mkcli alias on PATH, when the project came from the registry. */
  aliasExecutable(project: Project): string | null {
    return project.source === 'mkcli'
      ? findOnPath(project.alias, this.deps.path ?? process.env.PATH)
      : null;
  }

  hosts(): SshHost[] {
    return this.hostList;
  }

  host(alias: string): SshHost {
    const host = this.hostList.find((h) => h.alias === alias);
    if (!host) throw new AppError('UNKNOWN_HOST', `no ssh host "${alias}"`);
    return host;
  }

  vms(): Vm[] {
    return this.vmList;
  }

  vmProblems(): { environment: string; error: string }[] {
    return this.vmErrors;
  }

  presets(): Preset[] {
    return this.deps.presets;
  }

  preset(name: string): Preset {
    const preset = this.deps.presets.find((p) => p.name === name);
    if (!preset) throw new AppError('UNKNOWN_PRESET', `no preset "${name}"`);
    return preset;
  }

  /** Cached per Makefile set: re-read when any makefile it read changed (mtime). */
  private async discovery(project: Project): Promise<Discovery> {
    const cached = this.targetCache.get(project.alias);
    if (cached && (!cached.mtimes || [...cached.mtimes].every(([f, m]) => mtimeOf(f) === m)))
      return cached.discovery;
    const via = this.aliasExecutable(project);
    const discovery = via ? listTargetsVia(via, project.dir) : discoverTargets(project.dir);
    const entry: CachedTargets = { discovery };
    this.targetCache.set(project.alias, entry);
    try {
      const found = await discovery;
      entry.mtimes = new Map(found.files.map((f) => [f, mtimeOf(f)]));
      for (const p of found.problems) this.deps.log.warn({ project: project.alias }, p);
      return found;
    } catch (err) {
      // A failed discovery is not cached: the next request tries again (the Makefile may be fixed by then).
      if (this.targetCache.get(project.alias) === entry) this.targetCache.delete(project.alias);
      throw err;
    }
  }

  /** Refreshes when the registry, the ssh config or vm-config change on disk. */
  watch(): () => void {
    const { config, log } = this.deps;
    const watchers: FSWatcher[] = [];
    let timer: NodeJS.Timeout | null = null;
    const changed = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        this.refresh().catch((err: unknown) =>
          log.warn({ err: (err as Error).message }, 'catalog refresh failed'),
        );
      }, 300);
    };
    const watchDir = (dir: string, recursive: boolean, only?: string) => {
      try {
        const w = watch(dir, { recursive, persistent: false }, (_event, file) => {
          if (!only || file === only) changed();
        });
        w.on('error', () => w.close());
        watchers.push(w);
      } catch {
        // a missing folder is simply not watched
      }
    };
    // Folders, not files: editors replace a file on save, which ends a watch on the file itself.
    watchDir(path.dirname(config.mkcli.registry), false, path.basename(config.mkcli.registry));
    watchDir(path.dirname(config.ssh.config), false, path.basename(config.ssh.config));
    watchDir(config.vmConfig.dir, true);
    return () => {
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    };
  }
}
