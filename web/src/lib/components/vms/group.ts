// VMs grouped by their vm-config environment, environments and VMs in name order.
import type { Protection, VmInfo } from '@vmo/protocol';

export function groupByEnvironment(
  vms: readonly VmInfo[],
): { environment: string; vms: VmInfo[] }[] {
  const groups = new Map<string, VmInfo[]>();
  for (const vm of vms) groups.set(vm.environment, [...(groups.get(vm.environment) ?? []), vm]);
  return [...groups]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([environment, list]) => ({
      environment,
      vms: list.toSorted((a, b) => a.name.localeCompare(b.name)),
    }));
}

/** A VM's environment as a protection, when it is protected (production). */
export const protectionOf = (vm: Pick<VmInfo, 'environment' | 'protected'>): Protection | null =>
  vm.protected ? { kind: 'environment', name: vm.environment } : null;
