// Single sign-on (issue 27): a user signs in with a local password or through the OpenID provider.
// An SSO user is found again by its provider's subject (issuer and `sub`), never by its name alone,
// and keeps the groups of its last sign-in for the Users page. A session opened through a provider
// that gave a refresh token keeps it (sealed) in sso_grants, so the server can ask the provider
// again between sign-ins whether the user still holds its groups; it goes with its session.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE users
      ADD COLUMN provider text NOT NULL DEFAULT 'local' CHECK (provider IN ('local', 'oidc')),
      ADD COLUMN subject text,
      ADD COLUMN sso_groups text[],
      ADD CONSTRAINT users_sso_subject CHECK ((provider = 'oidc') = (subject IS NOT NULL)),
      ADD CONSTRAINT users_sso_no_password CHECK (provider = 'local' OR password_hash IS NULL)
  `.execute(db);
  await sql`CREATE UNIQUE INDEX users_subject_key ON users (subject)`.execute(db);
  await sql`
    CREATE TABLE sso_grants (
      sid varchar PRIMARY KEY REFERENCES sessions (sid) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      refresh_token text NOT NULL,
      checked_at timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);
  await sql`CREATE INDEX sso_grants_checked_at ON sso_grants (checked_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE sso_grants`.execute(db);
  await sql`DROP INDEX users_subject_key`.execute(db);
  await sql`
    ALTER TABLE users
      DROP CONSTRAINT users_sso_no_password,
      DROP CONSTRAINT users_sso_subject,
      DROP COLUMN sso_groups,
      DROP COLUMN subject,
      DROP COLUMN provider
  `.execute(db);
}
