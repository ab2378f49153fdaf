// Versioned migrations, run at start-up; Kysely's Migrator locks so concurrent instances are safe.
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import * as m0001 from './migrations/0001_initial.js';
import * as m0003 from './migrations/0003_cluster.js';
import * as m0004 from './migrations/0004_line_marks.js';
import * as m0005 from './migrations/0005_login_limits.js';
import * as m0006 from './migrations/0006_job_process.js';
import * as m0007 from './migrations/0007_job_request.js';
import * as m0008 from './migrations/0008_job_vm.js';
import * as m0009 from './migrations/0009_schedules.js';
import * as m0010 from './migrations/0010_triggers.js';
import * as m0011 from './migrations/0011_unseen_ends.js';
import * as m0012 from './migrations/0012_notifications.js';
import * as m0013 from './migrations/0013_search.js';
import * as m0014 from './migrations/0014_seq_ahead.js';
import * as m0015 from './migrations/0015_sso.js';
import * as m0016 from './migrations/0016_audit_chain.js';

/** Listed here, not read from a folder, so the built server needs no file globbing. */
const MIGRATIONS: Record<string, Migration> = {
  '0001_initial': m0001,
  '0003_cluster': m0003,
  '0004_line_marks': m0004,
  '0005_login_limits': m0005,
  '0006_job_process': m0006,
  '0007_job_request': m0007,
  '0008_job_vm': m0008,
  '0009_schedules': m0009,
  '0010_triggers': m0010,
  '0011_unseen_ends': m0011,
  '0012_notifications': m0012,
  '0013_search': m0013,
  '0014_seq_ahead': m0014,
  '0015_sso': m0015,
  '0016_audit_chain': m0016,
};

/** Every migration, in the order they run on a new database. */
export const MIGRATION_NAMES = Object.keys(MIGRATIONS).sort();

class StaticProvider implements MigrationProvider {
  getMigrations(): Promise<Record<string, Migration>> {
    return Promise.resolve(MIGRATIONS);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations see the schema as it was, not as it is
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  // The usual start: every migration applied already. One read says so; the Migrator would
  // create its tables if missing, take its lock and read them all (100 ms of a start).
  const { rows } = await sql<{ known: string | null }>`
    select to_regclass('kysely_migration')::text as known`.execute(db);
  const applied = new Set<string>();
  if (rows[0]?.known) {
    const done = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    for (const r of done.rows) applied.add(r.name);
  }
  if (MIGRATION_NAMES.every((name) => applied.has(name))) return [];
  // Migrations are numbered on parallel branches: one merged later with a lower number still runs.
  const migrator = new Migrator({
    db,
    provider: new StaticProvider(),
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(JSON.stringify(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
