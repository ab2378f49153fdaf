import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface ProjectRecord {
  alias: string;
  dir: string;
  source: 'config' | 'mkcli';
  available: boolean;
  error: string | null;
}

export interface VmRecord {
  id: string;
  name: string;
  environment: string;
  host: string;
  user: string | null;
  sshAlias: string | null;
}

/** Mirrors the catalog into `projects` and `vms`, so history and other instances see the same names. */
export class CatalogRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async replaceProjects(rows: ProjectRecord[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const keep = rows.map((r) => r.alias);
      let del = tx.deleteFrom('projects');
      if (keep.length) del = del.where('alias', 'not in', keep);
      await del.execute();
      if (!rows.length) return;
      await tx
        .insertInto('projects')
        .values(rows.map((r) => ({ ...r, updated_at: new Date() })))
        .onConflict((oc) =>
          oc.column('alias').doUpdateSet((eb) => ({
            dir: eb.ref('excluded.dir'),
            source: eb.ref('excluded.source'),
            available: eb.ref('excluded.available'),
            error: eb.ref('excluded.error'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    });
  }

  async replaceVms(rows: VmRecord[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const keep = rows.map((r) => r.id);
      let del = tx.deleteFrom('vms');
      if (keep.length) del = del.where('id', 'not in', keep);
      await del.execute();
      if (!rows.length) return;
      await tx
        .insertInto('vms')
        .values(
          rows.map((r) => ({
            id: r.id,
            name: r.name,
            environment: r.environment,
            host: r.host,
            user: r.user,
            ssh_alias: r.sshAlias,
            updated_at: new Date(),
          })),
        )
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => ({
            name: eb.ref('excluded.name'),
            environment: eb.ref('excluded.environment'),
            host: eb.ref('excluded.host'),
            user: eb.ref('excluded.user'),
            ssh_alias: eb.ref('excluded.ssh_alias'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    });
  }

  async projectAliases(): Promise<string[]> {
    return (await this.db.selectFrom('projects').select('alias').orderBy('alias').execute()).map(
      (r) => r.alias,
    );
  }
}
