// The tamper-evident audit trail (issue 28): every entry carries the hash of the entry before it
// and of its own content (audit/chain.ts), written under one lock so several instances keep one
// chain. audit_chain holds the head (the last entry's id and hash: a deleted tail shows) and the
// anchor (the last entry retention deleted). Entries are never changed afterwards, so a deleted
// user no longer nulls its user_id in them. Existing entries are chained here, oldest first.
import { sql, type Kysely } from 'kysely';
import { contentOf, hashOf, ZERO_HASH, type ChainRow } from '../../audit/chain.js';

const BATCH = 1000;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_user_id_fkey`.execute(db);
  await sql`ALTER TABLE audit_log ADD COLUMN prev_hash text, ADD COLUMN hash text`.execute(db);
  let prev = ZERO_HASH;
  let last = 0;
  for (;;) {
    const { rows } = await sql<ChainRow & { id: number }>`
      SELECT id, ts, user_id, username, action, target, source, details
      FROM audit_log WHERE id > ${last} ORDER BY id LIMIT ${BATCH}`.execute(db);
    if (rows.length === 0) break;
    const links: { id: number; prev: string; hash: string }[] = [];
    for (const row of rows) {
      const hash = hashOf(prev, contentOf(row));
      links.push({ id: Number(row.id), prev, hash });
      prev = hash;
      last = Number(row.id);
    }
    await sql`
      UPDATE audit_log AS a SET prev_hash = v.prev, hash = v.hash
      FROM (SELECT unnest(${links.map((l) => l.id)}::bigint[]) AS id,
                   unnest(${links.map((l) => l.prev)}::text[]) AS prev,
                   unnest(${links.map((l) => l.hash)}::text[]) AS hash) AS v
      WHERE a.id = v.id`.execute(db);
  }
  await sql`ALTER TABLE audit_log ALTER COLUMN prev_hash SET NOT NULL, ALTER COLUMN hash SET NOT NULL`.execute(
    db,
  );
  await sql`
    CREATE TABLE audit_chain (
      one boolean PRIMARY KEY DEFAULT true CHECK (one),
      head_id bigint NOT NULL,
      head_hash text NOT NULL,
      anchor_id bigint NOT NULL DEFAULT 0,
      anchor_hash text NOT NULL DEFAULT ${sql.lit(ZERO_HASH)}
    )`.execute(db);
  await sql`INSERT INTO audit_chain (head_id, head_hash) VALUES (${last}, ${prev})`.execute(db);
  // Shipping to the backup (DynamoDB or Lambda), in id order: everything up to here is shipped.
  await sql`
    CREATE TABLE audit_backup (
      one boolean PRIMARY KEY DEFAULT true CHECK (one),
      shipped_id bigint NOT NULL DEFAULT 0,
      attempts int NOT NULL DEFAULT 0,
      last_error text,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`INSERT INTO audit_backup DEFAULT VALUES`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE audit_backup`.execute(db);
  await sql`DROP TABLE audit_chain`.execute(db);
  await sql`ALTER TABLE audit_log DROP COLUMN hash, DROP COLUMN prev_hash`.execute(db);
}
