// What a process the server starts (a job, a listing, an ssh client) sees of the server's
// environment (SPEC §2, `jobs.env`): the server's own secrets never, make's controls never.

/** Variables that steer make itself: never from the server's environment, whatever `pass` says. */
const MAKE_CONTROL = /^(MAKEFLAGS|MFLAGS|GNUMAKEFLAGS|MAKELEVEL|MAKEFILES)$/i;

/**
 * What a job never sees of the server's environment (`jobs.env.drop` adds to it): the server's
 * database settings, its own variables, and anything named like a key, secret, token, password
 * or credentials, cloud providers' included (`AWS_SECRET_ACCESS_KEY`, `AZURE_CLIENT_SECRET`,
 * `GOOGLE_APPLICATION_CREDENTIALS`, `VAULT_TOKEN`…). Globs with `*`, case-insensitive.
 */
export const DEFAULT_ENV_DROP = [
  'DATABASE_URL',
  'VMO_*',
  'PG*',
  '*_KEY',
  '*_SECRET*',
  '*_TOKEN*',
  '*_PASSWORD*',
  '*_PASSWD*',
  '*_CREDENTIALS*',
  'SECRET_*',
  'SECRET',
  'TOKEN',
  'PASSWORD',
  'PASSWD',
];
/** What passes even so (`jobs.env.pass` adds to it): what jobs commonly need to reach things. */
export const DEFAULT_ENV_PASS = ['SSH_AUTH_SOCK', 'AWS_PROFILE', 'KUBECONFIG'];

export interface EnvRules {
  drop: string[];
  pass: string[];
}

function globs(patterns: string[]): RegExp {
  const alternatives = patterns.map((p) =>
    p
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*'),
  );
  return new RegExp(`^(?:${alternatives.join('|') || '(?!)'})$`, 'i');
}

/** The rules in force, compiled. */
export interface EnvFilter {
  drop: RegExp;
  pass: RegExp;
}

/** The rules in force: the defaults plus `jobs.env` from the config file; `pass` wins over `drop`. */
export function envRules(config: Partial<EnvRules> = {}): EnvFilter {
  return {
    drop: globs([...DEFAULT_ENV_DROP, ...(config.drop ?? [])]),
    pass: globs([...DEFAULT_ENV_PASS, ...(config.pass ?? [])]),
  };
}

const DEFAULT_RULES = envRules();

/** The server's environment minus what a job must never see (SPEC §2, `jobs.env`). */
export function jobEnvironment(
  env: NodeJS.ProcessEnv,
  rules: EnvFilter = DEFAULT_RULES,
): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (MAKE_CONTROL.test(k)) continue;
    if (rules.pass.test(k) || !rules.drop.test(k)) out[k] = v;
  }
  return out;
}
