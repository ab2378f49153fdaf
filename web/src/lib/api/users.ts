// User management for admins (SPEC §2: /api/users) and your own password.
import type { ChangePassword, CreateUser, UpdateUser } from '@vmo/protocol';
import { ROUTES } from './routes.js';
import { call } from './client.js';

export const fetchUsers = () => call(ROUTES.users.listUsers, {});

export const createUser = (req: CreateUser) => call(ROUTES.users.createUser, { body: req });

export const updateUser = (id: string, change: UpdateUser) =>
  call(ROUTES.users.updateUser, { params: { id }, body: change });

export const deleteUser = (id: string) => call(ROUTES.users.deleteUser, { params: { id } });

export const changePassword = (req: ChangePassword) =>
  call(ROUTES.auth.changePassword, { body: req });
