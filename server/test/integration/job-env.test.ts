// SPEC §2 and `jobs.env`: a job sees the server's environment minus what the server holds for
// itself. The server here is started with secrets of each kind, as a real deployment has them;
// the engine project's `env` target prints what a job sees, and a viewer can read that output.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type HttpClient, type TestApp } from '../fixtures/app.js';
import { reportFault } from '../fixtures/fault-report.js';
import { ENGINE_PROJECT, follow, startJob, textOf } from '../fixtures/jobs.js';

const SECRETS = {
  PGPASSWORD: 'pg-password-value',
  PGUSER: 'pg-user-value',
  DATABASE_URL: 'postgres://vmo:db-url-value@db/vmo',
  VMO_ADMIN_PASSWORD: 'admin-password-value',
  AWS_SECRET_ACCESS_KEY: 'aws-secret-value',
  AWS_SESSION_TOKEN: 'aws-session-value',
  AZURE_CLIENT_SECRET: 'azure-secret-value',
  GOOGLE_APPLICATION_CREDENTIALS: '/run/secrets/gcp-credentials-value.json',
  MY_API_KEY: 'my-api-key-value',
  GITHUB_TOKEN: 'github-token-value',
  SMTP_PASSWORD_FILE: '/run/secrets/smtp-password-value',
  SECRET_KEY_BASE: 'rails-secret-value',
  DEPLOY_HOOK_TOKEN: 'internal-hook-value', // dropped by default, and passed by the config below
  INTERNAL_BILLING_URL: 'internal-url-value', // dropped by the config below
};
const KEPT = {
  SSH_AUTH_SOCK: '/tmp/agent.sock',
  AWS_PROFILE: 'production',
  KUBECONFIG: '/etc/kube/config',
  APP_REGION: 'eu-west-1',
};

describe('the environment a job gets', () => {
  let t: TestApp;
  let viewer: HttpClient;
  let operator: HttpClient;

  beforeAll(async () => {
    t = await startTestApp({
      config: {
        projects: [{ alias: 'engine', dir: ENGINE_PROJECT }],
        jobs: { env: { drop: ['INTERNAL_*'], pass: ['DEPLOY_HOOK_TOKEN'] } },
      },
      env: { ...process.env, ...SECRETS, ...KEPT },
    });
    operator = await t.loginAs('operator');
    viewer = await t.loginAs('viewer');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('holds none of the server’s secrets, and what jobs need to reach things', async () => {
    const socket = await operator.socket();
    try {
      const jobId = await startJob(operator, 'engine', 'env');
      const { events } = await follow(socket, jobId);
      const seen = textOf(events, 'stdout');
      const log = await (await viewer.get(`/api/jobs/${jobId}/log`)).text();
      const secrets = Object.entries(SECRETS).filter(([name]) => name !== 'DEPLOY_HOOK_TOKEN');
      const leaked = secrets.filter(([, value]) => seen.includes(value) || log.includes(value));
      reportFault({
        fault: "a job's environment, the server started with secrets of each kind",
        tries: secrets.length,
        crashes: 0,
        held: `${leaked.length} of ${secrets.length} secrets (PG*, DATABASE_URL, cloud keys, *_TOKEN, *_KEY…) reached the job or a viewer`,
      });
      for (const text of [seen, log]) {
        for (const [name, value] of Object.entries(SECRETS)) {
          if (name === 'DEPLOY_HOOK_TOKEN') continue;
          expect(text, name).not.toContain(value);
          expect(text, name).not.toMatch(new RegExp(`^${name}=`, 'm'));
        }
        for (const [name, value] of Object.entries(KEPT))
          expect(text).toContain(`${name}=${value}`);
        expect(text).toContain('DEPLOY_HOOK_TOKEN=internal-hook-value');
      }
    } finally {
      socket.close();
    }
  });
});
