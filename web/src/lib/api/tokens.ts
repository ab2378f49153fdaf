// Your personal API tokens (SPEC §2: /api/tokens); a new token's value is in the create answer only.
import type { CreateToken } from '@vmo/protocol';
import { ROUTE_TABLE } from '@vmo/protocol';
import { call } from './client.js';

export const fetchTokens = () => call(ROUTE_TABLE.tokens.listTokens, {});

export const createToken = (req: CreateToken) =>
  call(ROUTE_TABLE.tokens.createToken, { body: req });

export const revokeToken = (id: string) => call(ROUTE_TABLE.tokens.revokeToken, { params: { id } });
