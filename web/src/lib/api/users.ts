// User management for admins (SPEC §2: /api/users) and your own password.
import type { ChangePassword, CreateUser, ManagedUser, UpdateUser } from '@vmo/protocol';
import { request } from './client.js';

export const fetchUsers = () => request<ManagedUser[]>('/api/users');

export const createUser = (req: CreateUser) =>
  request<ManagedUser>('/api/users', { method: 'POST', body: req });

export const updateUser = (id: string, change: UpdateUser) =>
  request<ManagedUser>(`/api/users/${encodeURIComponent(id)}`, { method: 'PATCH', body: change });

export const deleteUser = (id: string) =>
  request<void>(`/api/users/${encodeURIComponent(id)}`, { method: 'DELETE' });

export const changePassword = (req: ChangePassword) =>
  request<void>('/api/auth/password', { method: 'POST', body: req });
