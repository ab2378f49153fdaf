// Sign-in and the user as the browser sees it (never a hash or a secret).
import { z } from 'zod';

export const Role = z.enum(['viewer', 'operator', 'admin']);
export type Role = z.infer<typeof Role>;

/** Roles in order of power: a role may do everything the roles before it may. */
export const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export const Username = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.@-]+$/, 'letters, digits and _ . @ - only');

export const LoginRequest = z.strictObject({
  username: Username,
  password: z.string().min(1).max(1024),
});
export type LoginRequest = z.infer<typeof LoginRequest>;

/** How a user signs in: a local password (or the console's one-time link), or single sign-on. */
export const Provider = z.enum(['local', 'oidc']);
export type Provider = z.infer<typeof Provider>;

export const User = z.object({
  id: z.string(),
  username: z.string(),
  role: Role,
  provider: Provider,
  createdAt: z.string(),
});
export type User = z.infer<typeof User>;

/** `GET /api/auth/providers`: how the sign-in page may sign someone in. */
export const AuthProviders = z.object({
  /** Whether password sign-in is on (`auth.local`). */
  local: z.boolean(),
  /** Single sign-on, when configured: the button reads "Sign in with {name}". */
  oidc: z.object({ name: z.string() }).nullable(),
});
export type AuthProviders = z.infer<typeof AuthProviders>;

/** `GET /api/auth/oidc/login`: where to land after signing in, a path of this site only. */
export const OidcLoginQuery = z.object({ returnTo: z.string().max(2048).optional() });

/**
 * `POST /api/auth/logout` for a single sign-on user whose provider offers RP-initiated logout:
 * the browser goes on to the provider's end-session URL.
 */
export const LogoutRedirect = z.object({ redirect: z.url() });
export type LogoutRedirect = z.infer<typeof LogoutRedirect>;
