// The audit trail's optional backup (issue 28, the seed's "AWS Lambda + DynamoDB"): every entry
// shipped with its hashes, in id order, to DynamoDB directly or through a Lambda function. The log
// itself is the durable outbox: audit_backup records how far the backup holds it, advanced only
// after a batch is acknowledged, so an outage loses nothing; each item is a conditional put on the
// entry id, so shipping a batch again never makes two items. One instance ships at a time.
// The SDK is imported when a backup first ships (types only here): a server without a backup
// never loads it (≈ 150 ms of a start).
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { sql, type Kysely } from 'kysely';
import type { AuditBackupStatus } from '@vmo/protocol';
import type { Config } from '../config.js';
import type { Database } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { WorkLoop } from '../loop.js';
import { exportLine, type ExportLine } from './chain.js';

/** Where entries go; `ship` is idempotent and throws unless every line is held there. */
export interface BackupSink {
  /** `dynamodb:<table>` or `lambda:<function>`. */
  readonly target: string;
  ship(lines: ExportLine[]): Promise<void>;
}

/** An entry as a DynamoDB item (SPEC §2 "Audit backup"); the Lambda handler writes the same. */
export function itemOf(line: ExportLine): Record<string, AttributeValue> {
  return {
    id: { S: line.id },
    ts: { S: line.ts },
    actor: line.username === null ? { NULL: true } : { S: line.username },
    action: { S: line.action },
    hash: { S: line.hash },
    prevHash: { S: line.prevHash },
    entry: { S: JSON.stringify(line) },
  };
}

/** Puts one item unless an item with its id is there (a retry after a lost reply: delivered). */
async function putOnce(
  sdk: typeof import('@aws-sdk/client-dynamodb'),
  client: DynamoDBClient,
  table: string,
  line: ExportLine,
): Promise<'written' | 'existing'> {
  try {
    await client.send(
      new sdk.PutItemCommand({
        TableName: table,
        Item: itemOf(line),
        ConditionExpression: 'attribute_not_exists(id)',
      }),
    );
    return 'written';
  } catch (err) {
    if (err instanceof sdk.ConditionalCheckFailedException) return 'existing';
    throw err;
  }
}

type AuditTarget<K extends 'dynamodb' | 'lambda'> = NonNullable<Config['audit'][K]>;

/** Short timeouts: a backup that does not answer is retried later, never waited on long. */
const REQUEST = { requestTimeout: 10_000, connectionTimeout: 5_000 };

/** `make()` once, on first use; a failed import is tried again next time. */
function lazily<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | null = null;
  return () =>
    (made ??= make().catch((err: unknown) => {
      made = null;
      throw err;
    }));
}

const clientOptions = (cfg: { region: string; endpoint: string | null }) => ({
  region: cfg.region,
  ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
  maxAttempts: 2,
  requestHandler: REQUEST,
});

export function dynamoSink(cfg: AuditTarget<'dynamodb'>): BackupSink {
  const connect = lazily(async () => {
    const sdk = await import('@aws-sdk/client-dynamodb');
    return { sdk, client: new sdk.DynamoDBClient(clientOptions(cfg)) };
  });
  return {
    target: `dynamodb:${cfg.table}`,
    async ship(lines) {
      const { sdk, client } = await connect();
      // A few in flight at once: DynamoDB's conditional put is one item per request.
      for (let i = 0; i < lines.length; i += 8)
        await Promise.all(lines.slice(i, i + 8).map((l) => putOnce(sdk, client, cfg.table, l)));
    },
  };
}

export function lambdaSink(cfg: AuditTarget<'lambda'>): BackupSink {
  const connect = lazily(async () => {
    const sdk = await import('@aws-sdk/client-lambda');
    return { sdk, client: new sdk.LambdaClient(clientOptions(cfg)) };
  });
  return {
    target: `lambda:${cfg.functionName}`,
    async ship(lines) {
      const { sdk, client } = await connect();
      const res = await client.send(
        new sdk.InvokeCommand({
          FunctionName: cfg.functionName,
          InvocationType: 'RequestResponse',
          Payload: Buffer.from(JSON.stringify({ entries: lines })),
        }),
      );
      if (res.FunctionError) {
        const body = res.Payload ? Buffer.from(res.Payload).toString('utf8') : '';
        let message = body;
        try {
          message = (JSON.parse(body) as { errorMessage?: string }).errorMessage ?? body;
        } catch {
          // not JSON: the text as it came
        }
        throw new Error(`the function failed (${res.FunctionError}): ${message.slice(0, 500)}`);
      }
    },
  };
}

/** The sink the config names, or null when the backup is off. */
export function backupSink(audit: Config['audit']): BackupSink | null {
  if (audit.dynamodb) return dynamoSink(audit.dynamodb);
  if (audit.lambda) return lambdaSink(audit.lambda);
  return null;
}

export interface AuditBackupOptions {
  /** Entries per shipment. */
  batch: number;
  /** The first retry after a failure; each next one waits twice as long, up to maxRetryMs. */
  firstRetryMs: number;
  maxRetryMs: number;
  pollMs: number;
}

export const DEFAULT_BACKUP_OPTIONS: AuditBackupOptions = {
  batch: 100,
  firstRetryMs: 1_000,
  maxRetryMs: 60_000,
  pollMs: 2_000,
};

export class AuditBackup {
  private readonly loop: WorkLoop;
  /** No attempt before this (ms since epoch): the backoff after a failure. */
  private retryAt = 0;

  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      sink: BackupSink;
      log: Logger;
      options?: Partial<AuditBackupOptions>;
    },
  ) {
    this.loop = new WorkLoop(async () => (await this.runOnce()) > 0, this.options.pollMs);
  }

  private get options(): AuditBackupOptions {
    return { ...DEFAULT_BACKUP_OPTIONS, ...this.deps.options };
  }

  get target(): string {
    return this.deps.sink.target;
  }

  start(): () => Promise<void> {
    return this.loop.start();
  }

  /** A new entry is there: ship it now rather than at the next poll. */
  nudge(): void {
    this.loop.nudge();
  }

  /**
   * One shipment: the next batch after what the backup holds, under a lock only one instance gets
   * at a time. Returns how many entries were shipped (0: nothing to do, another instance at it,
   * or a failure, which is recorded and retried with backoff).
   */
  async runOnce(): Promise<number> {
    if (Date.now() < this.retryAt) return 0;
    const { batch } = this.options;
    let shipped = 0;
    let failure: Error | null = null;
    let attempts = 0;
    await this.deps.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ got: boolean }>`
        SELECT pg_try_advisory_xact_lock(hashtext('vmo.audit.backup')) AS got`.execute(trx);
      if (!rows[0]?.got) return;
      const state = await trx
        .selectFrom('audit_backup')
        .select(['shipped_id', 'attempts'])
        .forUpdate()
        .executeTakeFirstOrThrow();
      const entries = await trx
        .selectFrom('audit_log')
        .selectAll()
        .where('id', '>', state.shipped_id)
        .orderBy('id')
        .limit(batch)
        .execute();
      if (entries.length === 0) return;
      try {
        await this.deps.sink.ship(entries.map(exportLine));
      } catch (err) {
        failure = err as Error;
        attempts = state.attempts + 1;
        await trx
          .updateTable('audit_backup')
          .set({ attempts, last_error: describe(failure), updated_at: new Date() })
          .execute();
        return;
      }
      await trx
        .updateTable('audit_backup')
        .set({
          shipped_id: entries.at(-1)!.id,
          attempts: 0,
          last_error: null,
          updated_at: new Date(),
        })
        .execute();
      shipped = entries.length;
    });
    if (failure) {
      const { firstRetryMs, maxRetryMs } = this.options;
      const wait = Math.min(firstRetryMs * 2 ** Math.min(attempts - 1, 30), maxRetryMs);
      this.retryAt = Date.now() + wait * (0.75 + Math.random() * 0.5);
      // Once per outage at warn; the rest at debug.
      const level = attempts === 1 ? 'warn' : 'debug';
      this.deps.log[level](
        { err: describe(failure), attempts, target: this.target },
        'audit backup failed; retrying',
      );
    } else if (shipped) this.retryAt = 0;
    return shipped;
  }

  async shippedUpTo(): Promise<number> {
    const row = await this.deps.db
      .selectFrom('audit_backup')
      .select('shipped_id')
      .executeTakeFirstOrThrow();
    return Number(row.shipped_id);
  }

  async status(): Promise<AuditBackupStatus> {
    const row = await this.deps.db
      .selectFrom('audit_backup')
      .select(['shipped_id', 'last_error'])
      .executeTakeFirstOrThrow();
    const pending = await this.deps.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('id', '>', row.shipped_id)
      .executeTakeFirstOrThrow();
    return {
      target: this.target,
      shippedUpTo: Number(row.shipped_id) > 0 ? String(row.shipped_id) : null,
      pending: Number(pending.n),
      lastError: row.last_error,
    };
  }
}

function describe(err: Error): string {
  const name = err.name && err.name !== 'Error' ? `${err.name}: ` : '';
  return `${name}${err.message}`.slice(0, 1000);
}
