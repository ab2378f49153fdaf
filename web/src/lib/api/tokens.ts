// Your personal API tokens (SPEC §2: /api/tokens); a new token's value is in the create answer only.
import type { CreateToken } from '@vmo/protocol';
import { ROUTES } from './routes.js';
import { call } from './client.js';

export const fetchTokens = () => call(ROUTES.tokens.listTokens, {});

export const createToken = (req: CreateToken) => call(ROUTES.tokens.createToken, { body: req });

export const revokeToken = (id: string) => call(ROUTES.tokens.revokeToken, { params: { id } });
