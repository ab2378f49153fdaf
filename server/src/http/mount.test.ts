// The route declarations as Express mounts them, driven in-process (light-my-request: no port).
import express, { type RequestHandler } from 'express';
import { inject } from 'light-my-request';
import { z } from 'zod';
import type { ApiRoute, User } from '@vmo/protocol';
import { describe, expect, it } from 'vitest';
import { Access } from '../auth/permissions.js';
import type { Logger } from '../logger.js';
import { errorHandler, notFound } from './middleware/error.js';
import { ANSWERED, mount } from './mount.js';

const Thing = z.strictObject({ name: z.string().min(1).max(8) });
const Query = z.strictObject({ n: z.coerce.number().int().min(1).default(2) });

const ROUTES = {
  hello: {
    method: 'GET',
    path: '/api/hello',
    summary: 'public',
    allow: 'public',
    query: Query,
    ok: { status: 200, json: z.object({ n: z.number() }), description: 'n' },
  },
  mine: {
    method: 'GET',
    path: '/api/mine/:id',
    summary: 'signed in',
    allow: 'signedIn',
    ok: { status: 200, json: z.object({ id: z.string(), by: z.string() }), description: 'it' },
  },
  make: {
    method: 'POST',
    path: '/api/things',
    summary: 'operators',
    allow: 'job.run',
    body: Thing,
    ok: { status: 201, json: Thing, description: 'made' },
  },
  again: {
    method: 'POST',
    path: '/api/things/:id/again',
    summary: 'a body is optional',
    allow: 'job.run',
    body: z.strictObject({ times: z.number().optional() }),
    optionalBody: true,
    ok: { status: 202, json: z.object({ times: z.number() }), description: 'again' },
  },
  drop: {
    method: 'DELETE',
    path: '/api/things/:id',
    summary: 'admins',
    allow: 'users.manage',
    ok: { status: 204, description: 'gone' },
  },
  file: {
    method: 'GET',
    path: '/api/file',
    summary: 'a download',
    allow: 'signedIn',
    ok: { status: 200, media: 'text/plain', description: 'text' },
  },
} satisfies Record<string, ApiRoute>;

const user = (role: User['role']): User => ({
  id: `u-${role}`,
  username: role,
  provider: 'local',
  role,
  createdAt: '2026-01-01T00:00:00Z',
});

function app() {
  const a = express();
  // Who calls: the test says so in a header (the real app reads a session or a token).
  const caller: RequestHandler = (req, _res, next) => {
    const role = req.headers['x-role'];
    if (role === 'viewer' || role === 'operator' || role === 'admin') req.user = user(role);
    next();
  };
  a.use(caller, express.json());
  const access = new Access({ allowAdHoc: false, hostShells: 'off' });
  a.use(
    '/api',
    mount(
      ROUTES,
      {
        hello: ({ query }) => ({ n: query.n }),
        mine: ({ params, user }) => ({ id: params.id!, by: user.username }),
        make: ({ body }) => Promise.resolve(body),
        again: ({ body }) => ({ times: body.times ?? 1 }),
        drop: () => {},
        file: (_input, _req, res) => {
          res.type('text/plain').send('line 1\n');
          return ANSWERED;
        },
      },
      { access, prefix: '/api' },
    ),
  );
  a.use(notFound, errorHandler({ error() {}, warn() {} } as unknown as Logger));
  return a;
}

const call = (
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  opts: { role?: string; payload?: unknown } = {},
) =>
  inject(app(), {
    method,
    url,
    headers: opts.role ? { 'x-role': opts.role } : {},
    ...(opts.payload !== undefined ? { payload: opts.payload as object } : {}),
  });

describe('mount()', () => {
  it("answers a public route with its declared status, its query parsed with the declaration's schema", async () => {
    expect((await call('GET', '/api/hello?n=5')).json()).toEqual({ n: 5 });
    expect((await call('GET', '/api/hello')).json()).toEqual({ n: 2 });
    const bad = await call('GET', '/api/hello?n=0');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'VALIDATION' } });
  });

  it('refuses anonymous callers of signed-in routes, and gives the handler its path parameters and caller', async () => {
    expect((await call('GET', '/api/mine/7')).statusCode).toBe(401);
    const res = await call('GET', '/api/mine/7', { role: 'viewer' });
    expect(res.json()).toEqual({ id: '7', by: 'viewer' });
  });

  it("asks can() for the declared action before the body is read, with can()'s reason", async () => {
    const refused = await call('POST', '/api/things', { role: 'viewer', payload: {} });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toEqual({
      error: { code: 'FORBIDDEN', message: 'this needs the operator role' },
    });
    const made = await call('POST', '/api/things', { role: 'operator', payload: { name: 'a' } });
    expect(made.statusCode).toBe(201);
    expect(made.json()).toEqual({ name: 'a' });
    const bad = await call('POST', '/api/things', { role: 'operator', payload: { name: '' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ error: { message: string } }>().error.message).toContain('name');
  });

  it('reads a missing optional body as {}, and a required one as missing', async () => {
    const again = await call('POST', '/api/things/1/again', { role: 'operator' });
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual({ times: 1 });
    const none = await call('POST', '/api/things', { role: 'operator' });
    expect(none.statusCode).toBe(400);
  });

  it('ends an empty answer with its status, and leaves a written one as the handler wrote it', async () => {
    expect((await call('DELETE', '/api/things/1', { role: 'operator' })).statusCode).toBe(403);
    const gone = await call('DELETE', '/api/things/1', { role: 'admin' });
    expect(gone.statusCode).toBe(204);
    expect(gone.body).toBe('');
    const file = await call('GET', '/api/file', { role: 'viewer' });
    expect(file.headers['content-type']).toContain('text/plain');
    expect(file.body).toBe('line 1\n');
  });

  it('mounts only the declared method and path', async () => {
    expect((await call('POST', '/api/hello')).statusCode).toBe(404);
    expect((await call('GET', '/hello')).statusCode).toBe(404);
  });
});
