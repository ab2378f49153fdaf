// Hosts and VMs that ssh rejects (HostInfo.error, VmInfo.sshError), said the same way on every page.
import type { HostInfo } from '@vmo/protocol';

/** The tooltip of a run or terminal control that cannot work there, and why. */
export const unusableTitle = (alias: string, error: string): string =>
  `Unavailable: ssh rejects “${alias}”: ${error}`;

/**
 * ssh's message when it rejects every host alike (an Include loop or a bad option anywhere in the
 * config makes ssh refuse the whole file): the page says it once, above the hosts.
 */
export function sharedSshError(hosts: readonly HostInfo[]): string | null {
  const first = hosts[0]?.error;
  return hosts.length > 1 && first && hosts.every((h) => h.error === first) ? first : null;
}
