// The audit trail's backup (issue 28) against a real DynamoDB-compatible server on loopback
// (dynalite): every entry arrives with its hashes; a 30-second outage loses nothing; a retry after
// a lost reply makes no second item; the Lambda handler writes the same items, invoked locally and
// through the Lambda API as the server calls it.
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { AuditVerify } from '@vmo/protocol';
import {
  AuditBackup,
  dynamoSink,
  lambdaSink,
  type BackupSink,
} from '../../src/audit/audit.backup.js';
import type { ExportLine } from '../../src/audit/chain.js';
import { startTestApp, type HttpClient, type TestApp } from '../fixtures/app.js';
import { startDynamo, type TestDynamo } from '../fixtures/dynamo.js';
import { testLog } from '../fixtures/postgres.js';

const TABLE = 'vmo-audit';
/** The function of deploy/audit-lambda, as Lambda loads it. */
const LAMBDA_HANDLER: string = new URL('../../../deploy/audit-lambda/index.mjs', import.meta.url)
  .href;
const REGION = 'us-east-1';
const json = async <T>(res: Response | Promise<Response>) => (await (await res).json()) as T;

interface LambdaModule {
  handler: (event: unknown) => Promise<{ written: number; existing: number }>;
}
const loadHandler = async () => (await import(LAMBDA_HANDLER)) as LambdaModule;

/** An HTTP server in front of `target` that loses the replies to the first `lose` PutItem calls. */
async function lossyProxy(target: string, lose: number) {
  const upstream = new URL(target);
  let lost = 0;
  const server: Server = createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (b: Buffer) => body.push(b));
    req.on('end', () => {
      const put = String(req.headers['x-amz-target']).endsWith('.PutItem');
      const out = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer: IncomingMessage) => {
          const chunks: Buffer[] = [];
          answer.on('data', (b: Buffer) => chunks.push(b));
          answer.on('end', () => {
            // The item is written; its reply never arrives.
            if (put && lost < lose) {
              lost++;
              return void req.socket.destroy();
            }
            res.writeHead(answer.statusCode ?? 500, answer.headers);
            res.end(Buffer.concat(chunks));
          });
        },
      );
      out.end(Buffer.concat(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    lost: () => lost,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The Lambda Invoke API on loopback, running the handler as Lambda would. */
async function localLambda(handler: LambdaModule['handler']) {
  let invocations = 0;
  const server = createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (b: Buffer) => body.push(b));
    req.on('end', () => {
      invocations++;
      handler(JSON.parse(Buffer.concat(body).toString('utf8')))
        .then((result) => res.writeHead(200).end(JSON.stringify(result)))
        .catch((err: Error) =>
          res
            .writeHead(200, { 'x-amz-function-error': 'Unhandled' })
            .end(JSON.stringify({ errorMessage: err.message, errorType: err.name })),
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    invocations: () => invocations,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** An item as the test compares it: its attributes, the entry parsed. */
const plain = (item: Record<string, AttributeValue>) =>
  Object.fromEntries(
    Object.entries(item).map(([k, v]) => [
      k,
      v.S === undefined ? null : k === 'entry' ? JSON.parse(v.S) : v.S,
    ]),
  );

describe('the audit backup to DynamoDB', () => {
  let dyn: TestDynamo;
  let t: TestApp;
  let admin: HttpClient;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    dyn = await startDynamo();
    await dyn.createTable(TABLE);
    t = await startTestApp({
      config: { audit: { dynamodb: { table: TABLE, region: REGION, endpoint: dyn.endpoint } } },
    });
    admin = await t.loginAs('admin');
  });
  afterAll(async () => {
    for (const stop of stops) await stop();
    await t?.close();
    await dyn?.close();
  });

  const status = async () => (await json<AuditVerify>(admin.get('/api/audit/verify'))).backup!;
  const exported = async () =>
    (await (await admin.get('/api/audit/export')).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ExportLine);
  /** A backup of its own with quick retries (the server's waits up to a minute between them). */
  const quickBackup = (sink: BackupSink) =>
    new AuditBackup({
      db: t.db.db,
      sink,
      log: testLog,
      options: { firstRetryMs: 100, maxRetryMs: 1_000, pollMs: 100 },
    });
  const allShipped = () =>
    vi.waitFor(async () => expect(await status()).toMatchObject({ pending: 0, lastError: null }), {
      timeout: 20_000,
      interval: 200,
    });

  it('ships every entry with its hashes as it is written', async () => {
    expect(t.services.auditBackup?.target).toBe(`dynamodb:${TABLE}`);
    stops.push(t.services.auditBackup!.start());
    for (let i = 0; i < 3; i++) await t.loginAs('viewer');
    await allShipped();
    const lines = await exported();
    const items = await dyn.items(TABLE);
    expect(items.map(plain)).toEqual(
      lines.map((l) => ({
        id: l.id,
        ts: l.ts,
        actor: l.username,
        action: l.action,
        hash: l.hash,
        prevHash: l.prevHash,
        entry: l,
      })),
    );
    expect((await status()).shippedUpTo).toBe(lines.at(-1)!.id);
    await stops.pop()!();
  });

  it('loses nothing while DynamoDB is down for 30 seconds', async () => {
    const backup = quickBackup(
      dynamoSink({ table: TABLE, region: REGION, endpoint: dyn.endpoint }),
    );
    stops.push(backup.start());
    await dyn.stop();
    const outageEnds = Date.now() + 30_000;
    try {
      for (let i = 0; i < 5; i++) await t.loginAs('operator');
      await vi.waitFor(async () => expect((await status()).lastError).toBeTruthy(), {
        timeout: 10_000,
      });
      expect((await status()).pending).toBeGreaterThanOrEqual(5);
      await new Promise((r) => setTimeout(r, Math.max(0, outageEnds - Date.now())));
    } finally {
      await dyn.start();
    }
    await allShipped();
    const ids = (await dyn.items(TABLE)).map((i) => i.id!.S);
    expect(ids).toEqual((await exported()).map((l) => l.id));
    await stops.pop()!();
  }, 90_000);

  it('makes no second item when a reply is lost and the put is sent again', async () => {
    const proxy = await lossyProxy(dyn.endpoint, 3);
    const backup = quickBackup(dynamoSink({ table: TABLE, region: REGION, endpoint: proxy.url }));
    stops.push(backup.start());
    try {
      for (let i = 0; i < 4; i++) await t.loginAs('viewer');
      await allShipped();
      expect(proxy.lost()).toBe(3);
      const ids = (await dyn.items(TABLE)).map((i) => i.id!.S);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual((await exported()).map((l) => l.id));
    } finally {
      await stops.pop()!();
      await proxy.close();
    }
  });

  it('the Lambda handler writes the same items, invoked locally and through the Lambda API', async () => {
    // Everything in the server's own table first (also when this test runs alone).
    const direct = quickBackup(
      dynamoSink({ table: TABLE, region: REGION, endpoint: dyn.endpoint }),
    );
    while ((await direct.runOnce()) > 0);
    const lines = await exported();
    const { handler } = await loadHandler();
    process.env.VMO_DYNAMODB_ENDPOINT = dyn.endpoint;
    process.env.AWS_REGION = REGION;
    // Invoked locally with a batch, as a test of the function would.
    await dyn.createTable('vmo-audit-local');
    process.env.VMO_AUDIT_TABLE = 'vmo-audit-local';
    const batch = { entries: lines.map((l) => JSON.stringify(l)) };
    expect(await handler(batch)).toEqual({ written: lines.length, existing: 0 });
    expect(await handler(batch)).toEqual({ written: 0, existing: lines.length });
    expect(await dyn.items('vmo-audit-local')).toEqual(await dyn.items(TABLE));

    // Through the Lambda Invoke API, as the server ships with audit.lambda.
    await dyn.createTable('vmo-audit-lambda');
    process.env.VMO_AUDIT_TABLE = 'vmo-audit-lambda';
    const lambda = await localLambda(handler);
    const backup = quickBackup(
      lambdaSink({ functionName: 'vmo-audit-backup', region: REGION, endpoint: lambda.url }),
    );
    await t.db.db.updateTable('audit_backup').set({ shipped_id: 0 }).execute();
    stops.push(backup.start());
    try {
      await allShipped();
      expect(lambda.invocations()).toBeGreaterThan(0);
      expect(await dyn.items('vmo-audit-lambda')).toEqual(await dyn.items(TABLE));
      expect((await status()).target).toBe(`dynamodb:${TABLE}`); // the server's own, as configured
    } finally {
      await stops.pop()!();
      await lambda.close();
    }
  });
});
