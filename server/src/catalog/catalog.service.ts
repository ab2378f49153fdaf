// The catalog as the rest of the server asks it: which projects and targets exist, or a 404 saying which does not.
import type { ProjectInfo, TargetInfo } from '@vmo/protocol';
import { AppError } from '../errors.js';
import { discoverTargets, MakeError, type MakeTarget } from './makefile.js';
import type { Project } from './projects.js';

export const DEFAULT_INTERACTIVE = ['ssh', 'shell', 'console', 'create'];

export interface CatalogDeps {
  loadProjects: () => Project[];
  discover?: (dir: string) => Promise<MakeTarget[]>;
}

export class CatalogService {
  private projectList: Project[] = [];
  private readonly targetCache = new Map<string, Promise<MakeTarget[]>>();
  private readonly discover: (dir: string) => Promise<MakeTarget[]>;

  constructor(private readonly deps: CatalogDeps) {
    this.discover = deps.discover ?? ((dir) => discoverTargets(dir));
  }

  /** Re-reads the registry and config projects and forgets every cached target list. */
  refresh(): void {
    this.projectList = this.deps.loadProjects();
    this.targetCache.clear();
  }

  projects(): ProjectInfo[] {
    return this.projectList.map(({ interactive: _interactive, ...p }) => p);
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
    let pending = this.targetCache.get(alias);
    if (!pending) {
      pending = this.discover(project.dir);
      this.targetCache.set(alias, pending);
      // A failed discovery is not cached: the next request tries again (the Makefile may be fixed by then).
      pending.catch(() => this.targetCache.delete(alias));
    }
    let found: MakeTarget[];
    try {
      found = await pending;
    } catch (err) {
      if (err instanceof MakeError)
        throw new AppError(
          'UNKNOWN_PROJECT',
          `make cannot read the Makefile of "${alias}": ${err.message}`,
        );
      throw err;
    }
    const interactive = project.interactive ?? DEFAULT_INTERACTIVE;
    return found.map((t) => ({
      name: t.name,
      description: t.description,
      interactive: interactive.includes(t.name),
    }));
  }

  async target(alias: string, name: string): Promise<{ project: Project; target: TargetInfo }> {
    const target = (await this.targets(alias)).find((t) => t.name === name);
    if (!target) throw new AppError('UNKNOWN_TARGET', `project "${alias}" has no target "${name}"`);
    return { project: this.project(alias), target };
  }
}
