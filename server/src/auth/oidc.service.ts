// Single sign-on with an OpenID provider (issue 27): the authorization code flow with PKCE S256,
// state and nonce (openid-client does the protocol), and what a sign-in does here: the user found by
// its provider's subject, created or updated, its role derived again from its groups, and
// everything of it ended when no group gives it a role any more. Between sign-ins, a session the
// provider gave a refresh token to is checked again every `checkMinutes` the same way. Never
// touches HTTP.
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { ROLE_RANK, Username, type Role, type SsoError, type User } from '@vmo/protocol';
import type { OidcSettings } from '../config.js';
import type { AuditRepository } from '../db/audit.repository.js';
import type { SsoGrantRow, SsoGrantsRepository } from '../db/sso-grants.repository.js';
import type { UserRow } from '../db/schema.js';
import type { SessionsRepository } from '../db/sessions.repository.js';
import type { SettingsRepository } from '../db/settings.repository.js';
import type { TokensRepository } from '../db/tokens.repository.js';
import type { UsersRepository } from '../db/users.repository.js';
import type { Logger } from '../logger.js';
import { WorkLoop } from '../loop.js';
import type { AuthEvents } from './auth.events.js';
import { toUser } from './auth.service.js';
import { sealer, type Sealer } from './sealing.js';

/** A sign-in that came back refused: the code `/login?error=` names, and why, for the log. */
export class SsoRefused extends Error {
  override name = 'SsoRefused';
  constructor(
    readonly code: SsoError,
    message: string,
  ) {
    super(message);
  }
}

/** What the browser carries between the redirect to the provider and its way back (sealed). */
export interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
}

/** The role the user's groups give (the highest), and the groups that gave it. */
export function roleFromGroups(
  groups: string[],
  map: Record<string, Role>,
  defaultRole: Role | null,
): { role: Role; from: string[] } | null {
  const mapped = [...new Set(groups)].filter((g) => Object.hasOwn(map, g));
  if (mapped.length === 0) return defaultRole ? { role: defaultRole, from: [] } : null;
  const role = mapped.map((g) => map[g]!).reduce((a, b) => (ROLE_RANK[b] > ROLE_RANK[a] ? b : a));
  return { role, from: mapped.filter((g) => map[g] === role) };
}

/** A claim's groups: a list of strings, or one string; anything else counts as none. */
function groupsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string');
  return [];
}

/** Whether the provider could not be reached (or answered as a server in trouble). */
function unreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return true;
  if (err instanceof TypeError && /fetch failed/i.test(err.message)) return true;
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Response && cause.status >= 500;
}

/** Who the provider says the user is, from the ID token and, for what it lacks, userinfo. */
interface Identity {
  subject: string;
  groups: string[];
  /** The username claim as sent (null when absent). */
  name: unknown;
}

/** What the token endpoint answered, from a code or a refresh token. */
type TokenSet = client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;

export interface OidcDeps {
  users: UsersRepository;
  sessions: SessionsRepository;
  tokens: TokensRepository;
  grants: SsoGrantsRepository;
  /** Where the key that seals refresh tokens at rest is kept (one for every instance). */
  settings: SettingsRepository;
  audit: AuditRepository;
  events: AuthEvents;
  log: Logger;
}

/** Grants checked in one round. */
const CHECK_BATCH = 50;

export class OidcService {
  /** The provider's metadata once discovered; a failed discovery is tried again at the next sign-in. */
  #configuration: Promise<client.Configuration> | null = null;
  #sealer: Promise<Sealer> | null = null;

  constructor(
    readonly settings: OidcSettings,
    private readonly deps: OidcDeps,
  ) {}

  get name(): string {
    return this.settings.name;
  }

  private configuration(): Promise<client.Configuration> {
    this.#configuration ??= client
      .discovery(
        new URL(this.settings.issuer),
        this.settings.clientId,
        this.settings.clientSecret,
        undefined,
        { timeout: 10 },
      )
      .catch((err: unknown) => {
        this.#configuration = null;
        this.deps.log.warn({ err, issuer: this.settings.issuer }, 'OpenID discovery failed');
        throw new SsoRefused(
          'SSO_PROVIDER_UNAVAILABLE',
          `the provider's discovery at ${this.settings.issuer} failed: ${(err as Error).message}`,
        );
      });
    return this.#configuration;
  }

  /** Seals refresh tokens at rest, under a key of their own kept in the database. */
  private sealer(): Promise<Sealer> {
    this.#sealer ??= this.deps.settings
      .getOrCreate('sso_seal_key', () => randomBytes(32).toString('hex'))
      .then((key) => sealer(key, 'sso refresh token'))
      .catch((err: unknown) => {
        this.#sealer = null;
        throw err;
      });
    return this.#sealer;
  }

  /** Where to send the browser, and what it must bring back. */
  async begin(returnTo: string): Promise<{ url: URL; pending: PendingSignIn }> {
    const config = await this.configuration();
    const pending: PendingSignIn = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      verifier: client.randomPKCECodeVerifier(),
      returnTo,
    };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.settings.redirectUri,
      scope: this.settings.scopes.join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url, pending };
  }

  /**
   * The provider's answer at the redirect URI (`query`), checked against what the browser brought
   * back: the user signed in, with the ID token for a later RP-initiated logout. Throws SsoRefused;
   * every outcome is audited.
   */
  async finish(
    query: URLSearchParams,
    pending: PendingSignIn | null,
    source: string | null,
  ): Promise<{ user: User; idToken: string | undefined; refreshToken: string | undefined }> {
    const refuse = async (
      code: SsoError,
      reason: string,
      who: { row?: UserRow; username?: string; groups?: string[] } = {},
    ): Promise<never> => {
      await this.deps.audit.add({
        userId: who.row?.id ?? null,
        username: who.row?.username ?? who.username ?? null,
        action: 'login.failed',
        source,
        details: {
          via: 'oidc',
          provider: this.name,
          code,
          reason,
          ...(who.groups ? { groups: who.groups } : {}),
        },
      });
      throw new SsoRefused(code, reason);
    };
    if (!pending)
      return refuse('SSO_INVALID', 'no sign-in was started in this browser (or it expired)');
    let config: client.Configuration;
    try {
      config = await this.configuration();
    } catch (err) {
      return refuse('SSO_PROVIDER_UNAVAILABLE', (err as Error).message);
    }
    const current = new URL(this.settings.redirectUri);
    current.search = query.toString();
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      const why = describe(err);
      if (unreachable(err)) {
        this.deps.log.warn({ err }, 'the OpenID provider could not be reached at sign-in');
        return refuse('SSO_PROVIDER_UNAVAILABLE', why);
      }
      return refuse('SSO_INVALID', why);
    }
    let who: Identity;
    try {
      who = await this.identity(config, tokens);
    } catch (err) {
      if (unreachable(err)) return refuse('SSO_PROVIDER_UNAVAILABLE', describe(err));
      return refuse('SSO_INVALID', `the provider's userinfo: ${describe(err)}`);
    }
    const { subject, groups, name } = who;
    const { usernameClaim } = this.settings;
    const username = Username.safeParse(name);
    const row = await this.deps.users.findBySubject(subject);
    if (!username.success)
      return refuse(
        'SSO_INVALID',
        `the provider's ${usernameClaim} claim ${JSON.stringify(name ?? null)} is not a username here (letters, digits and _ . @ -, at most 64)`,
        { row, groups },
      );
    const given = roleFromGroups(groups, this.settings.roles, this.settings.defaultRole);
    if (!given) {
      if (row) await this.endEverything(row);
      return refuse(
        'SSO_NO_ROLE',
        groups.length
          ? `none of the groups ${groups.join(', ')} is given a role here`
          : `the provider sent no groups (claim ${this.settings.groupsClaim})`,
        { row, username: username.data, groups },
      );
    }
    if (row?.disabled)
      return refuse('SSO_DISABLED', 'an admin disabled this account here', { row, groups });
    const signedIn = row
      ? await this.update(row, username.data, given.role, groups)
      : await this.create(subject, username.data, given.role, groups);
    if (!signedIn)
      return refuse(
        'SSO_CONFLICT',
        `a local account is named ${username.data}; single sign-on never takes over an account it did not create`,
        { username: username.data, groups },
      );
    await this.deps.audit.add({
      userId: signedIn.id,
      username: signedIn.username,
      action: 'login',
      source,
      details: {
        via: 'oidc',
        provider: this.name,
        role: signedIn.role,
        groups: given.from,
        ...(row && row.role !== signedIn.role ? { roleFrom: row.role } : {}),
        ...(given.from.length === 0 ? { defaultRole: true } : {}),
      },
    });
    return {
      user: toUser(signedIn),
      idToken: tokens.id_token,
      refreshToken: tokens.refresh_token,
    };
  }

  /** The session `sid` opened with this refresh token: its groups are checked again from now on. */
  async remember(sid: string, userId: string, refreshToken: string): Promise<void> {
    await this.deps.grants.keep(sid, userId, (await this.sealer()).seal(refreshToken));
  }

  /** Checks the sessions due every `checkMinutes` (0: never); stop() waits for a round under way. */
  start(): () => Promise<void> {
    const everyMs = this.settings.checkMinutes * 60_000;
    if (everyMs === 0) return () => Promise.resolve();
    const loop = new WorkLoop(
      async () => (await this.check(everyMs)) === CHECK_BATCH,
      Math.min(everyMs / 4, 30_000),
    );
    return loop.start();
  }

  /**
   * One round of checks: the sessions not checked for `olderThanMs`, asked of the provider with
   * their refresh token. A session the provider no longer honours ends; a user whose groups give
   * no role any more loses everything; a changed role applies at once. The provider unreachable
   * changes nothing (it is asked again a period later). Returns how many were checked.
   */
  async check(olderThanMs: number): Promise<number> {
    const due = await this.deps.grants.claimDue(new Date(Date.now() - olderThanMs), CHECK_BATCH);
    if (due.length === 0) return 0;
    let config: client.Configuration;
    try {
      config = await this.configuration();
    } catch {
      return due.length; // down: logged by discovery, tried again next period
    }
    for (const grant of due) {
      try {
        await this.checkOne(config, grant);
      } catch (err) {
        this.deps.log.warn({ err, userId: grant.user_id }, 'single sign-on check failed');
      }
    }
    return due.length;
  }

  private async checkOne(config: client.Configuration, grant: SsoGrantRow): Promise<void> {
    const row = await this.deps.users.findById(grant.user_id);
    if (!row || row.disabled) return; // its sessions ended with the change that did this
    const audit = (details: Record<string, unknown>) =>
      this.deps.audit.add({
        userId: row.id,
        username: row.username,
        action: 'sso.check',
        source: null,
        details: { via: 'oidc', provider: this.name, ...details },
      });
    const box = await this.sealer();
    const refresh = box.open(grant.refresh_token);
    let tokens: TokenSet;
    try {
      if (!refresh)
        throw new Error('the stored refresh token does not open (a new session secret?)');
      tokens = await client.refreshTokenGrant(config, refresh);
    } catch (err) {
      if (unreachable(err)) return;
      // Revoked, expired, or the user is gone at the provider: this session ends.
      await this.deps.sessions.delete(grant.sid);
      this.deps.events.emit({ kind: 'session', sid: grant.sid });
      await audit({ outcome: 'session ended', reason: describe(err) });
      return;
    }
    if (tokens.refresh_token && tokens.refresh_token !== refresh)
      await this.deps.grants.replace(grant.sid, box.seal(tokens.refresh_token));
    let who: Identity;
    try {
      who = await this.identity(config, tokens);
    } catch (err) {
      if (unreachable(err)) return;
      throw err;
    }
    if (who.subject !== row.subject) return; // not this user's grant any more: never act on it
    const given = roleFromGroups(who.groups, this.settings.roles, this.settings.defaultRole);
    if (!given) {
      await this.endEverything(row);
      await audit({ outcome: 'ended', code: 'SSO_NO_ROLE', groups: who.groups });
      return;
    }
    const after = await this.update(row, row.username, given.role, who.groups);
    if (after.role !== row.role)
      await audit({ outcome: 'role', role: after.role, roleFrom: row.role, groups: given.from });
  }

  /** Who the tokens say the user is; the userinfo endpoint asked for the claims the ID token lacks. */
  private async identity(config: client.Configuration, tokens: TokenSet): Promise<Identity> {
    const idClaims = tokens.claims();
    if (!idClaims) throw new Error('the provider sent no ID token');
    let claims: Record<string, unknown> = idClaims;
    const { usernameClaim, groupsClaim } = this.settings;
    const lacking = !(usernameClaim in claims) || !(groupsClaim in claims);
    if (lacking && tokens.access_token && config.serverMetadata().userinfo_endpoint)
      claims = {
        ...(await client.fetchUserInfo(config, tokens.access_token, idClaims.sub)),
        ...idClaims,
      };
    return {
      subject: `${config.serverMetadata().issuer} ${idClaims.sub}`,
      groups: groupsOf(claims[groupsClaim]),
      name: claims[usernameClaim],
    };
  }

  /** The provider's end-session URL for RP-initiated logout, or null when it offers none. */
  async endSessionUrl(idToken: string | undefined): Promise<string | null> {
    let config: client.Configuration;
    try {
      config = await this.configuration();
    } catch {
      return null; // signed out here; the provider cannot be asked now
    }
    if (!config.serverMetadata().end_session_endpoint) return null;
    const params: Record<string, string> = {
      post_logout_redirect_uri: `${this.settings.publicUrl}/login`,
      client_id: this.settings.clientId,
    };
    if (idToken) params.id_token_hint = idToken;
    return client.buildEndSessionUrl(config, params).href;
  }

  private async create(
    subject: string,
    username: string,
    role: Role,
    groups: string[],
  ): Promise<UserRow | null> {
    // A name held by a local account stays its own: taking it over would let whoever the provider
    // calls "admin" be the admin here.
    await this.deps.users.createIfMissing({
      username,
      role,
      provider: 'oidc',
      subject,
      sso_groups: groups,
      password_hash: null,
    });
    return (await this.deps.users.findBySubject(subject)) ?? null;
  }

  /** The role derived again; a new name taken when it is free. Sockets follow a changed role at once. */
  private async update(
    row: UserRow,
    username: string,
    role: Role,
    groups: string[],
  ): Promise<UserRow> {
    const renamed = username !== row.username && !(await this.deps.users.findByUsername(username));
    const after =
      (await this.deps.users.update(row.id, {
        role,
        sso_groups: groups,
        ...(renamed ? { username } : {}),
      })) ?? row;
    if (after.role !== row.role)
      this.deps.events.emit({ kind: 'user', userId: row.id, ended: false });
    return after;
  }

  /** No group gives the user a role any more: its sessions, sockets and tokens end now. */
  private async endEverything(row: UserRow): Promise<void> {
    await this.deps.sessions.deleteForUser(row.id);
    const tokens = await this.deps.tokens.deleteForUser(row.id);
    await this.deps.users.update(row.id, { sso_groups: [] });
    for (const tokenId of tokens) this.deps.events.emit({ kind: 'token', tokenId });
    this.deps.events.emit({ kind: 'user', userId: row.id, ended: true });
  }
}

/** An openid-client error in one line: the provider's own error and description when it sent them. */
function describe(err: unknown): string {
  if (err instanceof client.ResponseBodyError || err instanceof client.AuthorizationResponseError)
    return `${err.error}${err.error_description ? `: ${err.error_description}` : ''}`;
  const e = err as Error & { cause?: unknown };
  const cause = e.cause instanceof Error ? ` (${e.cause.message})` : '';
  return `${e.message}${cause}`;
}
