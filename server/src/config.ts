// Configuration: flags, environment and the YAML file, validated once at boot (SPEC §2).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { HostShells, Role } from '@vmo/protocol';
import { validatePresets } from './catalog/presets.js';

/** An environment variable name, or a glob of them with `*` (`jobs.env.drop`/`pass`). */
const envPattern = z
  .string()
  .regex(/^[A-Za-z0-9_*]{1,128}$/, 'letters, digits, _ and * (a glob) only');
const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();

/** Single sign-on with an OpenID provider (SPEC §2 `auth.oidc`); the secret never sits in the YAML. */
const OidcConfig = z
  .strictObject({
    /** The button reads "Sign in with {name}". */
    name: z.string().min(1).max(64).default('single sign-on'),
    issuer: z.url({ protocol: /^https$/, error: 'an https URL (discovery is read from it)' }),
    clientId: z.string().min(1),
    clientSecretEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
      .optional(),
    clientSecretFile: z.string().min(1).optional(),
    scopes: z
      .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'one scope, no spaces'))
      .refine((s) => s.includes('openid'), 'must include openid')
      .default(['openid', 'profile', 'email']),
    usernameClaim: z.string().min(1).default('preferred_username'),
    groupsClaim: z.string().min(1).default('groups'),
    /** Group → role; the highest role among the user's groups wins. */
    roles: z.record(z.string().min(1), Role).default({}),
    /** The role of a user in no mapped group; null refuses the sign-in. */
    defaultRole: Role.nullable().default(null),
    /**
     * How often a signed-in user's groups are asked of the provider again (with the refresh token
     * it gave at sign-in, when it gave one); 0: only at each sign-in.
     */
    checkMinutes: z.number().nonnegative().default(5),
  })
  .refine((o) => !(o.clientSecretEnv && o.clientSecretFile), {
    message: 'give clientSecretEnv or clientSecretFile, not both',
  })
  .refine((o) => o.clientSecretEnv || o.clientSecretFile, {
    message: 'give clientSecretEnv or clientSecretFile (the secret is never written in this file)',
  });

const ProjectConfig = z.strictObject({
  alias: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits and _ . - only'),
  dir: z.string().min(1),
  interactive: z.array(z.string().min(1)).optional(),
  remote: z.array(z.strictObject({ host: z.string().min(1), dir: z.string().min(1) })).optional(),
  /** Production: every run asks for the alias to be typed (SPEC §4). */
  protected: z.boolean().optional(),
});

const PresetConfig = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/),
  command: z.string().min(1),
  follow: z.boolean().default(false),
  params: z.record(z.string(), z.string()).default({}),
});

export const FileConfig = z.strictObject({
  projects: z.array(ProjectConfig).default([]),
  mkcli: z.strictObject({ registry: z.string().default('~/.config/mkcli/registry') }).prefault({}),
  ssh: z
    .strictObject({
      config: z.string().default('~/.ssh/config'),
      strictHostKeyChecking: z.enum(['yes', 'accept-new']).default('accept-new'),
      connectTimeoutSeconds: posInt.default(10),
    })
    .prefault({}),
  vmConfig: z.strictObject({ dir: z.string().default('./environments') }).prefault({}),
  presets: z.array(PresetConfig).optional(),
  jobs: z
    .strictObject({
      maxConcurrent: posInt.default(32),
      graceSeconds: nonNegInt.default(5),
      timeoutSeconds: nonNegInt.default(0),
      retentionDays: nonNegInt.default(30),
      maxOutputBytes: posInt.default(1024 ** 3),
      bufferBytes: posInt.default(8 * 1024 ** 2),
      env: z
        .strictObject({
          drop: z.array(envPattern).default([]),
          pass: z.array(envPattern).default([]),
        })
        .prefault({}),
    })
    .prefault({}),
  db: z
    .strictObject({
      outageSeconds: posInt.default(60),
      queryTimeoutSeconds: posInt.default(30),
      startupWaitSeconds: posInt.default(60),
    })
    .prefault({}),
  fanout: z.strictObject({ maxParallel: posInt.default(16) }).prefault({}),
  terminal: z
    .strictObject({
      desktop: z.boolean().default(false),
      idleSeconds: posInt.default(900),
      maxOpen: posInt.default(16),
      /** Who may open a shell on a host or VM; a shell is an ad-hoc command, so allowAdHoc too. */
      hostShells: HostShells.default('admin'),
    })
    .prefault({}),
  security: z
    .strictObject({
      allowedOrigins: z.array(z.url()).default([]),
      publicUrl: z.url().nullable().default(null),
      trustProxy: z.boolean().default(false),
      allowAdHoc: z.boolean().default(false),
    })
    .prefault({}),
  auth: z
    .strictObject({
      /** false: no password sign-in; the console's one-time link for an admin stays (break-glass). */
      local: z.boolean().default(true),
      oidc: OidcConfig.optional(),
    })
    .prefault({}),
  audit: z
    .strictObject({
      /** Entries older than this many days are deleted (the chain stays verifiable); null keeps all. */
      retentionDays: posInt.nullable().default(null),
      /** Back every entry up to this DynamoDB table (partition key `id`, a string). */
      dynamodb: z
        .strictObject({
          table: z.string().regex(/^[A-Za-z0-9_.-]{3,255}$/, 'a DynamoDB table name'),
          region: z.string().min(1),
          endpoint: z.url().nullable().default(null),
        })
        .optional(),
      /** Or ship batches to this Lambda function (deploy/audit-lambda), which writes the table. */
      lambda: z
        .strictObject({
          functionName: z.string().min(1).max(170),
          region: z.string().min(1),
          endpoint: z.url().nullable().default(null),
        })
        .optional(),
    })
    .refine((a) => !(a.dynamodb && a.lambda), {
      message: 'give dynamodb or lambda, not both (the Lambda writes the table itself)',
    })
    .prefault({}),
  notifications: z
    .strictObject({
      /** The sender of e-mail when a channel names none (`vm-orchestrator <vmo@<hostname>>`). */
      from: z.email().nullable().default(null),
      /** The first retry of a failed delivery after this long; each next one waits twice as long. */
      firstRetrySeconds: z.number().positive().default(30),
      maxRetrySeconds: z.number().positive().default(3600),
      /** A delivery is retried this long, then given up (it can still be sent again by hand). */
      retryForHours: z.number().positive().default(24),
      timeoutSeconds: z.number().positive().default(10),
      pollSeconds: z.number().positive().default(2),
    })
    .prefault({}),
  search: z
    .strictObject({
      /** false: no output is indexed (GET /api/search then finds only what was indexed before). */
      enabled: z.boolean().default(true),
      /** How often the indexer looks for output not indexed yet (a job's end looks at once). */
      pollSeconds: z.number().positive().default(2),
      /** A running job's new lines are indexed at most this often. */
      runningEverySeconds: z.number().positive().default(10),
    })
    .prefault({}),
  cluster: z
    .strictObject({
      enabled: z.boolean().default(false),
      instanceId: z.string().min(1).nullable().default(null),
      // An instance silent for 3 heartbeats is gone: its unfinished jobs become interrupted.
      heartbeatSeconds: posInt.default(5),
    })
    .prefault({}),
});
export type FileConfig = z.infer<typeof FileConfig>;

/** `auth.oidc` as the server uses it: the client secret read, the redirect URI known. */
export type OidcSettings = Omit<
  NonNullable<FileConfig['auth']['oidc']>,
  'clientSecretEnv' | 'clientSecretFile'
> & { clientSecret: string; redirectUri: string; publicUrl: string };

export interface Config extends Omit<FileConfig, 'auth'> {
  auth: { local: boolean; oidc: OidcSettings | null };
  /** The config file read, or null when none was. */
  file: string | null;
  host: string;
  port: number;
  dataDir: string;
  /** null = the embedded Postgres under the data dir. */
  databaseUrl: string | null;
  adminPassword: string | null;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function expandHome(p: string, home = homedir()): string {
  return p === '~' || p.startsWith('~/') ? path.join(home, p.slice(1)) : p;
}

/** Reads flags (argv without node and script), environment and the config file. Throws ConfigError. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv, cwd = process.cwd()): Config {
  let flags;
  try {
    flags = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        'data-dir': { type: 'string' },
        'database-url': { type: 'string' },
      },
    }).values;
  } catch (err) {
    throw new ConfigError(`command line: ${(err as Error).message}`);
  }

  // An empty environment variable counts as unset, as in most shells' habits.
  const fromEnv = (name: string) => env[name] || undefined;
  const explicit = flags.config ?? fromEnv('VMO_CONFIG');
  const file = explicit ? path.resolve(cwd, expandHome(explicit)) : defaultConfigFile(cwd);
  const fileConfig = file ? readConfigFile(file, !!explicit) : FileConfig.parse({});
  const base = file ? path.dirname(file) : cwd;

  const portText = flags.port ?? fromEnv('PORT') ?? '3000';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 0 || port > 65535) {
    throw new ConfigError(`port: "${portText}" is not a TCP port (0-65535)`);
  }
  const host = flags.host ?? fromEnv('HOST') ?? '127.0.0.1';
  if (!host.trim()) throw new ConfigError('host: must not be empty');
  const databaseUrl = flags['database-url'] ?? fromEnv('DATABASE_URL') ?? null;
  if (databaseUrl !== null && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('database-url: must start with postgres:// or postgresql://');
  }

  return {
    ...fileConfig,
    projects: fileConfig.projects.map((p) => ({ ...p, dir: resolvePath(base, p.dir) })),
    mkcli: { registry: resolvePath(base, fileConfig.mkcli.registry) },
    ssh: { ...fileConfig.ssh, config: resolvePath(base, fileConfig.ssh.config) },
    vmConfig: { dir: resolvePath(base, fileConfig.vmConfig.dir) },
    file,
    host,
    port,
    dataDir: path.resolve(
      cwd,
      expandHome(flags['data-dir'] ?? fromEnv('VMO_DATA_DIR') ?? './data'),
    ),
    databaseUrl,
    adminPassword: env.VMO_ADMIN_PASSWORD || null,
    auth: resolveAuth(fileConfig, { file, base, env }),
  };
}

/**
 * `auth` as the server uses it: `auth.oidc` with its secret read from the environment or its file
 * (`base`: the folder a relative secret file is read from). Throws ConfigError when it cannot be.
 */
export function resolveAuth(
  fileConfig: Pick<FileConfig, 'auth' | 'security'>,
  where: { file: string | null; base: string; env: NodeJS.ProcessEnv },
): Config['auth'] {
  return {
    local: fileConfig.auth.local,
    oidc: oidcSettings(fileConfig, where.file ?? '(no config file)', where.base, where.env),
  };
}

function oidcSettings(
  fileConfig: Pick<FileConfig, 'auth' | 'security'>,
  file: string,
  base: string,
  env: NodeJS.ProcessEnv,
): OidcSettings | null {
  const fromEnv = (name: string) => env[name] || undefined;
  const oidc = fileConfig.auth.oidc;
  if (!oidc) return null;
  const { clientSecretEnv, clientSecretFile, ...rest } = oidc;
  const publicUrl = fileConfig.security.publicUrl;
  if (!publicUrl)
    throw new ConfigError(
      `${file}: auth.oidc: needs security.publicUrl (the redirect URI is <publicUrl>/api/auth/oidc/callback)`,
    );
  let secret: string | undefined;
  if (clientSecretEnv) {
    secret = fromEnv(clientSecretEnv);
    if (!secret)
      throw new ConfigError(`${file}: auth.oidc.clientSecretEnv: ${clientSecretEnv} is not set`);
  } else {
    const secretFile = resolvePath(base, clientSecretFile!);
    try {
      secret = readFileSync(secretFile, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(
        `${file}: auth.oidc.clientSecretFile: ${secretFile}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (err as Error).message}`,
      );
    }
    if (!secret)
      throw new ConfigError(`${file}: auth.oidc.clientSecretFile: ${secretFile} is empty`);
  }
  const root = publicUrl.replace(/\/+$/, '');
  return {
    ...rest,
    clientSecret: secret,
    publicUrl: root,
    redirectUri: `${root}/api/auth/oidc/callback`,
  };
}

function defaultConfigFile(cwd: string): string | null {
  const candidate = path.join(cwd, 'vmo.yaml');
  return existsSync(candidate) ? candidate : null;
}

function resolvePath(base: string, p: string): string {
  return path.resolve(base, expandHome(p));
}

function readConfigFile(file: string, explicit: boolean): FileConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const why =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (err as Error).message;
    throw new ConfigError(`${file}: ${explicit ? 'config file ' : ''}${why}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    const where =
      err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line})` : '';
    throw new ConfigError(
      `${file}: not valid YAML${where}: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  const parsed = FileConfig.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${file}: ${describeIssues(parsed.error)}`);
  if (parsed.data.presets) {
    try {
      parsed.data.presets = validatePresets(parsed.data.presets);
    } catch (err) {
      throw new ConfigError(`${file}: presets: ${(err as Error).message}`);
    }
  }
  return parsed.data;
}

/** One line per problem, each naming the key path: `jobs.maxConcurrent: …`, `unknown key "foo"`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const at = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((k) => (at ? `${at}.${k}` : k));
        return `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}`;
      }
      return `${at || '(top level)'}: ${issue.message}`;
    })
    .join('; ');
}
