// The command palette's contents: every project target and every preset on every host, found
// by words typed in any order, and what Enter does with each (the same rules as the pages: a
// target with parameters or a confirmation opens its form instead of running blind, and so does
// anything in a protected project or environment, where the form asks for its name).
import type { HostInfo, PresetInfo, TargetInfo, VmInfo } from '@vmo/protocol';

export type PaletteEntry =
  | {
      kind: 'target';
      id: string;
      alias: string;
      target: TargetInfo;
      favourite: boolean;
      /** The project is protected: its form asks for its name. */
      protected?: boolean;
    }
  | {
      kind: 'preset';
      id: string;
      preset: PresetInfo;
      /** What the API takes: an ssh config alias, or `vm:<env>/<name>`. */
      hostAlias: string;
      /** The VM whose page has the preset's form, when the host is one. */
      vm: VmInfo | null;
      /** ssh's message when it rejects the host: Enter then opens the page that says so. */
      unusable?: string;
    };

export interface PaletteSources {
  targets: { alias: string; targets: TargetInfo[]; protected?: boolean }[];
  presets: PresetInfo[];
  vms: VmInfo[];
  hosts: HostInfo[];
  isFavourite: (alias: string, target: string) => boolean;
}

/**
 * How the API is told to run on a VM: always as itself (`vm:<env>/<name>`), so its job names it
 * even when its ssh entry is shared or another host's; the server finds the entry.
 */
export const vmHostAlias = (vm: Pick<VmInfo, 'id'>) => `vm:${vm.id}`;

/** What reaches a VM: its ssh config entry, or its address. */
export const vmReachedThrough = (vm: Pick<VmInfo, 'sshAlias' | 'user' | 'host'>) =>
  vm.sshAlias ?? `${vm.user ? `${vm.user}@` : ''}${vm.host}`;

export function paletteEntries(src: PaletteSources): PaletteEntry[] {
  const entries: PaletteEntry[] = [];
  for (const { alias, targets, protected: guarded } of src.targets) {
    for (const target of targets) {
      const favourite = src.isFavourite(alias, target.name);
      entries.push({
        kind: 'target',
        id: `t:${alias}/${target.name}`,
        alias,
        target,
        favourite,
        ...(guarded ? { protected: true } : {}),
      });
    }
  }
  const viaVm = new Set(src.vms.map((vm) => vm.sshAlias).filter((a) => a !== null));
  for (const preset of src.presets) {
    for (const vm of src.vms) {
      const hostAlias = vmHostAlias(vm);
      entries.push({
        kind: 'preset',
        id: `p:${preset.name}@${hostAlias}`,
        preset,
        hostAlias,
        vm,
        ...(vm.sshError ? { unusable: vm.sshError } : {}),
      });
    }
    // A plain ssh host has no page for a preset's form: only presets without parameters.
    if (Object.keys(preset.params).length > 0) continue;
    for (const host of src.hosts) {
      if (viaVm.has(host.alias)) continue;
      const hostAlias = host.alias;
      entries.push({
        kind: 'preset',
        id: `p:${preset.name}@${hostAlias}`,
        preset,
        hostAlias,
        vm: null,
        ...(host.error ? { unusable: host.error } : {}),
      });
    }
  }
  return entries;
}

export function entryLabel(entry: PaletteEntry): string {
  if (entry.kind === 'target') return `make ${entry.target.name}`;
  return `${entry.preset.name} on ${entry.vm ? entry.vm.id : entry.hostAlias}`;
}

export function entryDetail(entry: PaletteEntry): string {
  if (entry.kind === 'target') {
    return entry.target.description ? `${entry.alias} · ${entry.target.description}` : entry.alias;
  }
  if (entry.unusable) return 'ssh rejects this host';
  const params = Object.keys(entry.preset.params);
  return params.length ? `asks for ${params.join(', ')}` : entry.preset.follow ? 'follows' : '';
}

function haystack(entry: PaletteEntry): string {
  const where = entry.kind === 'preset' ? `${entry.hostAlias} ${entry.vm?.sshAlias ?? ''}` : '';
  return `${entryLabel(entry)} ${entryDetail(entry)} ${where}`.toLowerCase();
}

/**
 * Entries holding every typed word, best first: favourites, then those whose name starts with
 * the first word, then in catalog order. At most `limit`, so a big catalog stays quick to draw.
 */
export function filterEntries(entries: PaletteEntry[], query: string, limit = 50): PaletteEntry[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const first = words[0] ?? '';
  const scored = entries
    .map((entry, index) => ({ entry, index, text: haystack(entry) }))
    .filter(({ text }) => words.every((w) => text.includes(w)))
    .map(({ entry, index }) => {
      const name = entry.kind === 'target' ? entry.target.name : entry.preset.name;
      const favourite = entry.kind === 'target' && entry.favourite ? 0 : 1;
      const prefix = first && name.toLowerCase().startsWith(first) ? 0 : 1;
      return { entry, rank: [favourite, prefix, index] };
    });
  scored.sort(
    (a, b) => a.rank[0]! - b.rank[0]! || a.rank[1]! - b.rank[1]! || a.rank[2]! - b.rank[2]!,
  );
  return scored.slice(0, limit).map((s) => s.entry);
}

export type PaletteAction =
  | { do: 'open'; path: string }
  | { do: 'stream' | 'terminal'; alias: string; target: string }
  | { do: 'preset'; hostAlias: string; preset: string };

/** What Enter does: run at once only what the page itself would run with one click. */
export function paletteAction(entry: PaletteEntry, canRun: boolean): PaletteAction {
  if (entry.kind === 'target') {
    const { alias, target } = entry;
    const page = `/projects/${encodeURIComponent(alias)}`;
    if (!canRun) return { do: 'open', path: page };
    if ((target.params?.length ?? 0) > 0 || target.confirm || entry.protected) {
      return { do: 'open', path: `${page}?run=${encodeURIComponent(target.name)}` };
    }
    return { do: target.interactive ? 'terminal' : 'stream', alias, target: target.name };
  }
  const vmPage = entry.vm
    ? `/vms/${encodeURIComponent(entry.vm.environment)}/${encodeURIComponent(entry.vm.name)}`
    : '/vms';
  if (!canRun || entry.unusable) return { do: 'open', path: vmPage };
  if (Object.keys(entry.preset.params).length > 0 || entry.vm?.protected) {
    return { do: 'open', path: `${vmPage}?preset=${encodeURIComponent(entry.preset.name)}` };
  }
  return { do: 'preset', hostAlias: entry.hostAlias, preset: entry.preset.name };
}
