// The catalog over REST (SPEC §2): projects, targets, hosts, VMs and presets; declared in
// ROUTE_TABLE.catalog.
import { ROUTE_TABLE } from '@vmo/protocol';
import type { Access } from '../auth/permissions.js';
import type { CatalogService } from '../catalog/catalog.service.js';
import type { JobQueries } from '../jobs/job.queries.js';
import type { RemoteService } from '../remote/remote.service.js';
import { mount } from './mount.js';

export function catalogRoutes(deps: {
  catalog: CatalogService;
  remote: RemoteService;
  queries: JobQueries;
  access: Access;
}) {
  const { catalog, remote } = deps;
  return mount(
    ROUTE_TABLE.catalog,
    {
      listProjects: () => catalog.states(remote),
      listTargets: ({ params, query }) =>
        query.host
          ? remote.projectTargets(catalog.project(params.alias!), query.host)
          : catalog.targets(params.alias!),
      projectStats: ({ params }) => deps.queries.targetStats(catalog.project(params.alias!).alias),
      listHosts: () => catalog.hosts(),
      listContainers: ({ params }) => remote.containers(params.alias!),
      checkHost: ({ params }) => remote.check(params.alias!),
      listChecks: () => remote.checks(),
      listVms: () => catalog.vms(),
      listPresets: () =>
        catalog.presets().map(({ name, params, follow }) => ({ name, params, follow })),
      refreshCatalog: async () => {
        await catalog.refresh();
        remote.forget();
        return {
          projects: catalog.projects().length,
          hosts: catalog.hosts().length,
          vms: catalog.vms().length,
          problems: catalog.vmProblems(),
        };
      },
    },
    { access: deps.access, prefix: '/api' },
  );
}
