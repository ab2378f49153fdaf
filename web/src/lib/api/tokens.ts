// Your personal API tokens (SPEC §2: /api/tokens); a new token's value is in the create answer only.
import type { ApiToken, CreatedToken, CreateToken } from '@vmo/protocol';
import { request } from './client.js';

export const fetchTokens = () => request<ApiToken[]>('/api/tokens');

export const createToken = (req: CreateToken) =>
  request<CreatedToken>('/api/tokens', { method: 'POST', body: req });

export const revokeToken = (id: string) =>
  request<void>(`/api/tokens/${encodeURIComponent(id)}`, { method: 'DELETE' });
