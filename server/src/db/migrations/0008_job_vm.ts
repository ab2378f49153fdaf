// The VM a job ran on, besides the ssh alias that reached it: a prod VM reached through another
// host's ssh entry is still named as itself in the history and the audit log (issue 22).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('jobs')
    // The vm-config environment: of the VM, or of the fan-out over it.
    .addColumn('environment', 'text')
    // The VM's id, `<environment>/<name>`; null for jobs on plain hosts or here.
    .addColumn('vm', 'text')
    .execute();
  await db.schema
    .createIndex('jobs_vm_created_idx')
    .on('jobs')
    .columns(['vm', 'created_at'])
    .where(sql.ref('vm'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('jobs_environment_created_idx')
    .on('jobs')
    .columns(['environment', 'created_at'])
    .where(sql.ref('environment'), 'is not', null)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('jobs_environment_created_idx').execute();
  await db.schema.dropIndex('jobs_vm_created_idx').execute();
  await db.schema.alterTable('jobs').dropColumn('vm').dropColumn('environment').execute();
}
