// VMs from vm-config environments (`<dir>/<env>/config.yml`), each matched to the ssh host that reaches it.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import type { SshHost } from './ssh-hosts.js';

export interface Vm {
  /** `<env>/<name>` */
  id: string;
  name: string;
  environment: string;
  host: string;
  user: string | null;
  sshAlias: string | null;
  /** Why ssh rejects that alias, when it does. */
  sshError?: string;
  /** Its environment's `protected: true`: production. */
  protected?: boolean;
}

export interface VmConfigError {
  /** '' when the vm-config directory itself cannot be read. */
  environment: string;
  error: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const CONFIG_FILES = ['config.yml', 'config.yaml'];

// Names end up in ids, URLs and ssh arguments: no spaces, no leading `-`.
const Name = z.string().regex(NAME, 'must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$');
const VmEntry = z.object({
  host: z
    .string({ error: (i) => (i.input === undefined ? 'host is required' : 'must be a string') })
    .regex(/^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/, 'must be a hostname or IP address'),
  ansible_user: z
    .string()
    .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'must be a plain user name')
    .optional(),
});
// Other top-level keys (ansible settings and the like) belong to other tools: allowed.
const EnvironmentFile = z.object(
  {
    template: z.string().optional(),
    protected: z.boolean({ error: 'must be true or false' }).optional(),
    vms: z.record(Name, VmEntry, {
      error: (i) => (isAbsent(i.input) ? 'vms is required' : undefined),
    }),
  },
  { error: (i) => (isAbsent(i.input) ? 'the file is empty' : 'must be a YAML mapping') },
);

const isAbsent = (v: unknown) => v === undefined || v === null;

export async function loadVms(
  dir: string,
  hosts: SshHost[],
): Promise<{ vms: Vm[]; errors: VmConfigError[] }> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { vms: [], errors: [] };
    return {
      vms: [],
      errors: [{ environment: '', error: `cannot read ${dir}: ${code ?? String(err)}` }],
    };
  }
  const vms: Vm[] = [];
  const errors: VmConfigError[] = [];
  for (const env of entries.sort()) {
    if (env.startsWith('.')) continue;
    const file = await configFile(path.join(dir, env));
    if (!file) continue;
    try {
      vms.push(...(await loadEnvironment(env, file, hosts)));
    } catch (err) {
      errors.push({
        environment: env,
        error: `${file}: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }
  vms.sort((a, b) => compare(a.environment, b.environment) || compare(a.name, b.name));
  return { vms, errors };
}

/** A directory without a config file (`group_vars`…) is not an environment; nor is a hidden one. */
async function configFile(envDir: string): Promise<string | null> {
  for (const name of CONFIG_FILES) {
    const file = path.join(envDir, name);
    const info = await stat(file).catch(() => null);
    if (info?.isFile()) return file;
  }
  return null;
}

async function loadEnvironment(env: string, file: string, hosts: SshHost[]): Promise<Vm[]> {
  if (!NAME.test(env)) throw new Error(`environment name must match ${NAME.source}`);
  const doc = parseDocument(await readFile(file, 'utf8'));
  const yamlError = doc.errors[0];
  if (yamlError)
    throw new Error(`invalid YAML: ${yamlError.message.split('\n')[0]?.replace(/:$/, '')}`);
  const parsed = EnvironmentFile.safeParse(doc.toJS());
  if (!parsed.success) throw new Error(describeIssues(parsed.error));
  return Object.entries(parsed.data.vms).map(([name, vm]) => {
    const via = matchHost(name, vm.host, hosts);
    return {
      id: `${env}/${name}`,
      name,
      environment: env,
      host: vm.host,
      user: vm.ansible_user ?? null,
      sshAlias: via?.alias ?? null,
      ...(via?.error ? { sshError: via.error } : {}),
      ...(parsed.data.protected ? { protected: true } : {}),
    };
  });
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const where = i.path.map(String).join('.');
      // A bad key in a record is reported on the record itself: name the key.
      if (i.code === 'invalid_key')
        return `vm name ${JSON.stringify(i.path.at(-1))} ${i.issues[0]?.message ?? 'is invalid'}`;
      return where ? `${where}: ${i.message}` : i.message;
    })
    .join('; ');
}

/** The ssh entry named like the VM wins; else the one whose HostName is the VM's host. */
function matchHost(name: string, host: string, hosts: SshHost[]): SshHost | undefined {
  return hosts.find((h) => h.alias === name) ?? hosts.find((h) => h.hostname === host);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
