// User management for admins (SPEC §2: /api/users) and your own password.
import type { ChangePassword, CreateUser, UpdateUser } from '@vmo/protocol';
import { ROUTE_TABLE } from '@vmo/protocol';
import { call } from './client.js';

export const fetchUsers = () => call(ROUTE_TABLE.users.listUsers, {});

export const createUser = (req: CreateUser) => call(ROUTE_TABLE.users.createUser, { body: req });

export const updateUser = (id: string, change: UpdateUser) =>
  call(ROUTE_TABLE.users.updateUser, { params: { id }, body: change });

export const deleteUser = (id: string) => call(ROUTE_TABLE.users.deleteUser, { params: { id } });

export const changePassword = (req: ChangePassword) =>
  call(ROUTE_TABLE.auth.changePassword, { body: req });
