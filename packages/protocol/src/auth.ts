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

export const User = z.object({
  id: z.string(),
  username: z.string(),
  role: Role,
  createdAt: z.string(),
});
export type User = z.infer<typeof User>;
