import { sql, type Kysely } from 'kysely';
import type { Database, NewUser, UserRow } from './schema.js';

export type UserChange = Partial<
  Pick<UserRow, 'role' | 'disabled' | 'password_hash' | 'username' | 'sso_groups'>
>;

export class UsersRepository {
  constructor(private readonly db: Kysely<Database>) {}

  findById(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByUsername(username: string): Promise<UserRow | undefined> {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where('username', '=', username)
      .executeTakeFirst();
  }

  /** The SSO user its provider names `subject` (`<issuer> <sub>`). */
  findBySubject(subject: string): Promise<UserRow | undefined> {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where('subject', '=', subject)
      .executeTakeFirst();
  }

  list(): Promise<UserRow[]> {
    return this.db.selectFrom('users').selectAll().orderBy('username').execute();
  }

  /** Inserts unless the username exists; returns whether this call created it. */
  async createIfMissing(user: NewUser): Promise<boolean> {
    const res = await this.db
      .insertInto('users')
      .values(user)
      .onConflict((oc) => oc.column('username').doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async setPassword(id: string, passwordHash: string): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ password_hash: passwordHash })
      .where('id', '=', id)
      .execute();
  }

  update(id: string, change: UserChange): Promise<UserRow | undefined> {
    return this.db
      .updateTable('users')
      .set(change)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  }

  async delete(id: string): Promise<boolean> {
    const res = await this.db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** Admins that may sign in, other than `exceptId`. */
  async countActiveAdmins(exceptId: string): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('role', '=', 'admin')
      .where('disabled', '=', false)
      .where('id', '<>', exceptId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * Runs `fn` in a transaction that holds the user-admin lock, so two admins demoting each other at
   * once cannot both pass the last-admin check.
   */
  exclusively<T>(fn: (repo: UsersRepository) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext('vmo.users.admins'))`.execute(trx);
      return fn(new UsersRepository(trx));
    });
  }
}
