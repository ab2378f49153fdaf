// The catalog as the rest of the server asks it: projects and their targets, ssh hosts, VMs and
// presets, each re-read on refresh (or when their files change), or a 404 saying what does not exist.
import { statSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { Listing, ProjectInfo, Protection, TargetInfo } from '@vmo/protocol';
import type { Config } from '../config.js';
import type { CatalogRepository } from '../db/catalog.repository.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { findOnPath } from '../process/programs.js';
import { discoverTargets, MakeError, type Discovery } from './makefile.js';
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
  /** The environment make lists in (the jobs' environment). */
  env?: NodeJS.ProcessEnv;
}

interface CachedTargets {
  discovery: Promise<Discovery>;
  /** mtimes of the makefiles read; a change re-reads them. */
  mtimes?: Map<string, number>;
  /** Once settled: how it was listed, or make's error. */
  listing?: Listing;
  error?: string;
}

/** How a remote project's targets were listed on a host, once they have been. */
export interface RemoteListings {
  listingOf(hostAlias: string, dir: string): Listing | undefined;
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

/** 422 MAKEFILE_ERROR with make's own message. */
export function makefileError(alias: string, err: MakeError, where = ''): AppError {
  return new AppError(
    'MAKEFILE_ERROR',
    `make cannot read the Makefile of "${alias}"${where}: ${err.message}`,
  );
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

  /** The projects as configured; `states()` adds what listing their targets found. */
  projects(): ProjectInfo[] {
    return this.projectList.map(({ interactive: _interactive, ...p }) => p);
  }

  /**
   * The projects with their listing state: each available one's targets are listed (or taken from
   * the cache), so a Makefile make cannot read shows as unavailable with make's message.
   */
  async states(remote?: RemoteListings): Promise<ProjectInfo[]> {
    await Promise.all(
      this.projectList
        // A Makefile that failed is listed again when its targets are asked for, not here.
        .filter((p) => p.available && !this.targetCache.get(p.alias)?.error)
        .map((p) => this.discovery(p).catch((err: unknown) => void err)),
    );
    return this.projects().map((p) => {
      const cached = this.targetCache.get(p.alias);
      const info: ProjectInfo = { ...p };
      if (cached?.listing) info.listing = cached.listing;
      if (cached?.error)
        Object.assign(info, { available: false, error: cached.error, errorCode: 'MAKEFILE_ERROR' });
      if (p.remote && remote)
        info.remote = p.remote.map((r) => {
          const listing = remote.listingOf(r.host, r.dir);
          return listing ? { ...r, listing } : r;
        });
      return info;
    });
  }

  /** The remote dir of a project on a host, or 404 UNKNOWN_HOST. */
  remoteDir(project: Project, hostAlias: string): string {
    // A VM (`vm:<env>/<name>`) is where the project is set up by that name or by its ssh alias.
    const vm = hostAlias.startsWith('vm:')
      ? this.vmList.find((v) => `vm:${v.id}` === hostAlias)
      : undefined;
    const remote = project.remote?.find(
      (r) => r.host === hostAlias || (!!vm?.sshAlias && r.host === vm.sshAlias),
    );
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
      if (err instanceof MakeError) throw makefileError(alias, err);
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

  /**
   * Whether starting something there is production's business: a VM (by its ssh alias or
   * `vm:<env>/<name>`) of a protected environment, a fan-out over one, or a protected project.
   * The environment wins: its name is the one typed.
   */
  protectionOf(where: {
    type?: string;
    project?: string | null;
    host?: string | null;
    environment?: string | null;
  }): Protection | null {
    const env =
      where.environment ??
      (where.type === 'group' ? where.host : null) ??
      (where.host ? this.environmentOf(where.host) : null);
    if (env && this.vmList.some((v) => v.environment === env && v.protected))
      return { kind: 'environment', name: env };
    const project = where.project ? this.projectList.find((p) => p.alias === where.project) : null;
    return project?.protected ? { kind: 'project', name: project.alias } : null;
  }

  /** The protected environment a host alias reaches, else any environment it reaches. */
  private environmentOf(hostAlias: string): string | null {
    const vm = hostAlias.startsWith('vm:')
      ? this.vmList.filter((v) => `vm:${v.id}` === hostAlias)
      : this.vmList.filter((v) => v.sshAlias === hostAlias);
    return (vm.find((v) => v.protected) ?? vm[0])?.environment ?? null;
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

  /** Cached per Makefile set: re-read when any makefile it read changed (mtime), or after an error. */
  private async discovery(project: Project): Promise<Discovery> {
    const cached = this.targetCache.get(project.alias);
    const fresh =
      cached &&
      !cached.error &&
      (!cached.mtimes || [...cached.mtimes].every(([f, m]) => mtimeOf(f) === m));
    if (fresh) return cached.discovery;
    const via = this.aliasExecutable(project) ?? undefined;
    const discovery = discoverTargets(project.dir, { via, env: this.deps.env });
    const entry: CachedTargets = { discovery };
    this.targetCache.set(project.alias, entry);
    try {
      const found = await discovery;
      entry.mtimes = new Map(found.files.map((f) => [f, mtimeOf(f)]));
      entry.listing = found.listing;
      const log = { project: project.alias };
      if (found.listing.mode === 'safe')
        this.deps.log.warn(
          { ...log, reason: found.listing.reason },
          'no isolation for make here: targets listed from the Makefile text (safe mode)',
        );
      for (const p of found.problems) this.deps.log.warn(log, p);
      return found;
    } catch (err) {
      // A failed discovery is kept for the project's state, but re-tried at the next request (the
      // Makefile may be fixed by then).
      if (err instanceof MakeError && this.targetCache.get(project.alias) === entry) {
        entry.error = `make cannot read the Makefile: ${err.message}`;
        entry.mtimes = new Map();
      }
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
