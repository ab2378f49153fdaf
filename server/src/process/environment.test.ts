// What a process the server starts sees of the server's environment (SPEC §2, `jobs.env`).
import { describe, expect, it } from 'vitest';
import { envRules, jobEnvironment } from './environment.js';

describe(jobEnvironment.name, () => {
  it('drops the server’s database settings, its own variables, keys, secrets, tokens, passwords and make flags', () => {
    const env = jobEnvironment({
      PATH: '/usr/bin',
      HOME: '/root',
      KEEP_ME: 'yes',
      DATABASE_URL: 'postgres://x',
      PGPASSWORD: 'p',
      PGHOST: 'db',
      VMO_DATA_DIR: '/d',
      VMO_: 'x',
      APP_SECRET: 's',
      AWS_SECRET_ACCESS_KEY: 'k',
      AWS_SESSION_TOKEN: 't',
      AZURE_CLIENT_SECRET: 's',
      GOOGLE_APPLICATION_CREDENTIALS: '/k.json',
      MY_API_KEY: 'k',
      SECRET_KEY_BASE: 's',
      GITHUB_TOKEN: 't',
      NPM_TOKEN_RO: 't',
      DB_PASSWORD: 'p',
      DB_PASSWORD_FILE: '/run/secrets/db',
      PASSWORD: 'p',
      MAKEFLAGS: '-j9',
      MFLAGS: '-j9',
      GNUMAKEFLAGS: '-j9',
      MAKELEVEL: '3',
      MAKEFILES: '/tmp/evil.mk',
      TOKEN_COUNT: '1', // a name that only starts with TOKEN is no secret
      PASSWORD_HINT: 'kept',
      KEYBOARD: 'us',
      SSH_AUTH_SOCK: '/tmp/agent',
      AWS_PROFILE: 'prod',
      KUBECONFIG: '/k',
    });
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/root',
      KEEP_ME: 'yes',
      TOKEN_COUNT: '1',
      PASSWORD_HINT: 'kept',
      KEYBOARD: 'us',
      SSH_AUTH_SOCK: '/tmp/agent',
      AWS_PROFILE: 'prod',
      KUBECONFIG: '/k',
    });
  });

  it('matches names case-insensitively', () => {
    const env = jobEnvironment({
      database_url: 'x',
      Vmo_Config: 'x',
      my_secret: 'x',
      Npm_Token: 'x',
      pg_password: 'x',
      makeflags: 'x',
      path: '/bin',
    });
    expect(env).toEqual({ path: '/bin' });
  });

  it('takes jobs.env: drop adds globs, pass lets a target see what it needs, never make’s flags', () => {
    const rules = envRules({
      drop: ['INTERNAL_*', 'BUILD_ID'],
      pass: ['PGHOST', 'DEPLOY_TOKEN', 'MAKEFLAGS'],
    });
    expect(
      jobEnvironment(
        {
          INTERNAL_URL: 'x',
          internal_flag: 'x',
          BUILD_ID: '1',
          BUILD_IDS: 'kept',
          PGHOST: 'db',
          PGPASSWORD: 'p',
          DEPLOY_TOKEN: 't',
          OTHER_TOKEN: 't',
          MAKEFLAGS: '-j9',
        },
        rules,
      ),
    ).toEqual({ BUILD_IDS: 'kept', PGHOST: 'db', DEPLOY_TOKEN: 't' });
  });

  it('does not change the environment it was given', () => {
    const given = { A_TOKEN: 't', B: 'b' };
    jobEnvironment(given);
    expect(given).toEqual({ A_TOKEN: 't', B: 'b' });
  });
});
