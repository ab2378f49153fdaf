import type { Kysely, Selectable } from 'kysely';
import type { Database, TokensTable, UserRow } from './schema.js';

export type TokenRow = Selectable<TokensTable>;

export class TokensRepository {
  constructor(private readonly db: Kysely<Database>) {}

  create(t: {
    userId: string;
    name: string;
    tokenHash: string;
    expiresAt: Date | null;
  }): Promise<TokenRow> {
    return this.db
      .insertInto('tokens')
      .values({ user_id: t.userId, name: t.name, token_hash: t.tokenHash, expires_at: t.expiresAt })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  listForUser(userId: string): Promise<TokenRow[]> {
    return this.db
      .selectFrom('tokens')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
  }

  /** The unexpired token with this hash and its user, whatever the user's state. */
  findValid(tokenHash: string, now: Date): Promise<{ token: TokenRow; user: UserRow } | undefined> {
    return this.findValidBy('token_hash', tokenHash, now);
  }

  /** The same, by the token's id (a socket re-checking the token it connected with). */
  findValidById(id: string, now: Date): Promise<{ token: TokenRow; user: UserRow } | undefined> {
    return this.findValidBy('id', id, now);
  }

  private async findValidBy(
    column: 'token_hash' | 'id',
    value: string,
    now: Date,
  ): Promise<{ token: TokenRow; user: UserRow } | undefined> {
    const row = await this.db
      .selectFrom('tokens')
      .innerJoin('users', 'users.id', 'tokens.user_id')
      .selectAll('tokens')
      .select([
        'users.username',
        'users.role',
        'users.disabled',
        'users.password_hash',
        'users.created_at as user_created_at',
        'users.provider',
        'users.subject',
        'users.sso_groups',
      ])
      .where(`tokens.${column}`, '=', value)
      .where((eb) =>
        eb.or([eb('tokens.expires_at', 'is', null), eb('tokens.expires_at', '>', now)]),
      )
      .executeTakeFirst();
    if (!row) return undefined;
    const {
      username,
      role,
      disabled,
      password_hash,
      user_created_at,
      provider,
      subject,
      sso_groups,
      ...token
    } = row;
    return {
      token,
      user: {
        id: token.user_id,
        username,
        role,
        disabled,
        password_hash,
        created_at: user_created_at,
        provider,
        subject,
        sso_groups,
      },
    };
  }

  async touch(id: string, at: Date): Promise<void> {
    await this.db.updateTable('tokens').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  /** Deletes every token of the user (an SSO user who lost every group); returns their ids. */
  async deleteForUser(userId: string): Promise<string[]> {
    const rows = await this.db
      .deleteFrom('tokens')
      .where('user_id', '=', userId)
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  }

  /** Deletes the user's token; returns it, or undefined when the user has no such token. */
  delete(id: string, userId: string): Promise<TokenRow | undefined> {
    return this.db
      .deleteFrom('tokens')
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .returningAll()
      .executeTakeFirst();
  }
}
