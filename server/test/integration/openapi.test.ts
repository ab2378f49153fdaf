// GET /api/openapi.json (SPEC §2): an OpenAPI 3.1 document of every route Express has, built from
// route-table.ts and the protocol's zod schemas, and true to what the routes validate and answer.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ERROR_STATUS, type ErrorCode } from '@vmo/protocol';
import { tableRoutes, type TableRoute } from '../../src/http/route-table.js';
import { HttpClient, startTestApp, type TestApp } from '../fixtures/app.js';
import { ENGINE_PROJECT } from '../fixtures/jobs.js';
import { expressRoutes } from '../fixtures/routes.js';

type Json = Record<string, unknown>;
interface Operation extends Json {
  operationId: string;
  parameters?: { name: string; in: string; required: boolean; schema: Json }[];
  requestBody?: { required: boolean; content: Record<string, { schema: Json }> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: Json }> }>;
  security?: unknown[];
}
interface Document {
  openapi: string;
  info: { title: string; version: string };
  jsonSchemaDialect: string;
  security: Record<string, string[]>[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
}

/** The keywords of JSON Schema 2020-12 (core, applicator, validation, annotations). */
const KEYWORDS = new Set(
  (
    '$ref $schema $id $defs $comment $anchor $dynamicRef $dynamicAnchor $vocabulary ' +
    'type enum const properties required additionalProperties patternProperties propertyNames ' +
    'items prefixItems contains minContains maxContains unevaluatedItems unevaluatedProperties ' +
    'allOf anyOf oneOf not if then else dependentSchemas dependentRequired ' +
    'minLength maxLength pattern format minimum maximum exclusiveMinimum exclusiveMaximum ' +
    'multipleOf minItems maxItems uniqueItems minProperties maxProperties ' +
    'title description default examples deprecated readOnly writeOnly contentMediaType contentEncoding'
  ).split(' '),
);
const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null']);

/** Where an Express path sits in the document: `/api/jobs/:id` → `/api/jobs/{id}`. */
const docPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

describe('GET /api/openapi.json', () => {
  let t: TestApp;
  let doc: Document;
  const routes = tableRoutes();

  const resolve = (schema: Json): Json => {
    const ref = schema.$ref;
    if (typeof ref !== 'string') return schema;
    expect(ref).toMatch(/^#\/components\/schemas\//);
    const target = doc.components.schemas[ref.slice('#/components/schemas/'.length)];
    expect(target, ref).toBeDefined();
    return resolve(target!);
  };
  const operation = (route: Pick<TableRoute, 'method' | 'path'>) =>
    doc.paths[docPath(route.path)]![route.method.toLowerCase()]!;

  /** The error codes a documented error response allows (`error.code`'s const, of each variant). */
  const documentedCodes = (schema: Json): string[] => {
    const body = resolve(schema);
    if (Array.isArray(body.anyOf)) return (body.anyOf as Json[]).flatMap(documentedCodes);
    const error = resolve((body.properties as Record<string, Json>).error!);
    return [String(resolve((error.properties as Record<string, Json>).code!).const)];
  };

  beforeAll(async () => {
    t = await startTestApp({ config: { projects: [{ alias: 'engine', dir: ENGINE_PROJECT }] } });
    const res = await t.anonymous().get('/api/openapi.json');
    expect(res.status).toBe(200);
    doc = (await res.json()) as Document;
  });
  afterAll(() => t?.close());

  it('is an OpenAPI 3.1 document, served as JSON without sign-in', async () => {
    const res = await t.anonymous().get('/api/openapi.json');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(JSON.parse(await res.text())).toEqual(doc);
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.jsonSchemaDialect).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(doc.info).toMatchObject({ title: 'vm-orchestrator', version: 'test' });
  });

  it('goes through the same boundary as /api/health: 421 for a foreign Host', async () => {
    const res = await t.anonymous().raw('GET', '/api/openapi.json', { host: 'evil.example' });
    expect(res.status).toBe(421);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'MISDIRECTED' } });
  });

  it('answers other methods as an unknown route: 401 anonymously, 404 signed in', async () => {
    const anonymous = await t.anonymous().post('/api/openapi.json', {});
    expect(anonymous.status).toBe(401);
    const admin = await t.loginAs('admin');
    const res = await admin.request('DELETE', '/api/openapi.json');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('describes every route Express has, and no other', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const served = expressRoutes(t.app.app).map((r) => `${r.method} ${docPath(r.path)}`);
    expect(documented.sort()).toEqual(served.sort());
    const ids = Object.values(doc.paths).flatMap((ops) =>
      Object.values(ops).map((o) => o.operationId),
    );
    expect(new Set(ids).size, 'operationIds are unique').toBe(documented.length);
  });

  it('declares each parameter of each path template, required', () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(ops)) {
        const inPath = (op.parameters ?? []).filter((p) => p.in === 'path');
        expect(
          inPath.map((p) => p.name),
          `${method} ${path}`,
        ).toEqual(names);
        expect(inPath.every((p) => p.required)).toBe(true);
      }
    }
  });

  it('documents the very schemas each route validates its body and query with', () => {
    const table = new Map(routes.map((r) => [`${r.method} ${r.path}`, r]));
    const drifted: string[] = [];
    for (const route of expressRoutes(t.app.app)) {
      const checked: Record<string, unknown> = {};
      for (const handler of route.handlers) {
        const { schema, part } = handler as { schema?: unknown; part?: string };
        if (schema && part) checked[part] = schema;
      }
      const row = table.get(route.key)!;
      // The same objects, not look-alikes: the document cannot drift from the validation.
      if (checked.body !== row.body) drifted.push(`${route.key} body`);
      if (checked.query !== row.query) drifted.push(`${route.key} query`);
    }
    expect(drifted).toEqual([]);
    expect(routes.filter((r) => r.body || r.query).length).toBeGreaterThan(10);
  });

  it('holds only JSON Schema 2020-12 objects whose $refs resolve', () => {
    let checked = 0;
    const check = (schema: unknown, at: string): void => {
      expect(typeof schema === 'object' && schema !== null && !Array.isArray(schema), at).toBe(
        true,
      );
      const s = schema as Json;
      checked++;
      for (const key of Object.keys(s)) expect(KEYWORDS.has(key), `${at}: ${key}`).toBe(true);
      if (s.$ref !== undefined) resolve(s);
      const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
      for (const type of types) expect(TYPES.has(type as string), `${at}: type ${type}`).toBe(true);
      const properties = (s.properties ?? {}) as Record<string, unknown>;
      for (const [name, sub] of Object.entries(properties)) check(sub, `${at}.${name}`);
      for (const name of (s.required ?? []) as string[])
        expect(properties, at).toHaveProperty(name);
      for (const key of ['items', 'propertyNames', 'not'])
        if (s[key] !== undefined) check(s[key], `${at}/${key}`);
      if (typeof s.additionalProperties === 'object') check(s.additionalProperties, `${at}/+`);
      for (const key of ['anyOf', 'oneOf', 'allOf', 'prefixItems'])
        if (s[key] !== undefined)
          (s[key] as unknown[]).forEach((x, i) => check(x, `${at}/${key}${i}`));
    };
    for (const [name, schema] of Object.entries(doc.components.schemas)) check(schema, name);
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const at = `${method} ${path}`;
        for (const p of op.parameters ?? []) check(p.schema, `${at} ?${p.name}`);
        for (const [type, media] of Object.entries(op.requestBody?.content ?? {}))
          check(media.schema, `${at} body ${type}`);
        for (const [status, res] of Object.entries(op.responses))
          for (const media of Object.values(res.content ?? {}))
            if (media.schema) check(media.schema, `${at} ${status}`);
      }
    }
    expect(checked).toBeGreaterThan(200);
  });

  it('describes the body of POST /api/jobs/stream', () => {
    const op = operation({ method: 'POST', path: '/api/jobs/stream' });
    expect(op.requestBody?.required).toBe(true);
    const body = resolve(op.requestBody!.content['application/json']!.schema);
    expect(body.type).toBe('object');
    expect(Object.keys(body.properties as Json)).toEqual(
      expect.arrayContaining(['alias', 'target', 'args', 'force', 'confirm', 'hostAlias']),
    );
    expect(body.required).toEqual(['alias', 'target']);
    expect(body.additionalProperties).toBe(false);
    const args = resolve((body.properties as Record<string, Json>).args!);
    expect(args).toMatchObject({ type: 'object', additionalProperties: { type: 'string' } });
    expect(resolve(op.responses['201']!.content!['application/json']!.schema!)).toMatchObject({
      properties: { jobId: { type: 'string' } },
    });
    expect(documentedCodes(op.responses['400']!.content!['application/json']!.schema!)).toEqual([
      'VALIDATION',
      'BAD_ARGS',
      'INTERACTIVE_TARGET',
      'CONFIRM_REQUIRED',
    ]);
  });

  it('describes the path and query parameters of GET /api/jobs/{id}/tail', () => {
    const op = operation({ method: 'GET', path: '/api/jobs/:id/tail' });
    const params = Object.fromEntries((op.parameters ?? []).map((p) => [p.name, p]));
    expect(Object.keys(params)).toEqual(['id', 'before', 'cut', 'limit', 'bytes']);
    expect(params.id).toMatchObject({ in: 'path', required: true });
    expect(resolve(params.id!.schema)).toMatchObject({ type: 'string', format: 'uuid' });
    for (const name of ['before', 'cut', 'limit', 'bytes']) {
      expect(params[name]).toMatchObject({ in: 'query', required: false });
      expect(params[name]!.schema.type).toBe('integer');
    }
    expect(params.limit!.schema).toMatchObject({ default: 1000, minimum: 1, maximum: 10_000 });
    expect(op.requestBody).toBeUndefined();
  });

  it('names the session cookie and the bearer token, and leaves public routes open', () => {
    expect(doc.components.securitySchemes).toEqual({
      session: expect.objectContaining({ type: 'apiKey', in: 'cookie', name: 'vmo.sid' }),
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
    expect(doc.security).toEqual([{ session: [] }, { bearer: [] }]);
    for (const route of routes) {
      const op = operation(route);
      const codes = Object.entries(op.responses)
        .filter(([status]) => Number(status) >= 400)
        .flatMap(([, r]) => documentedCodes(r.content!['application/json']!.schema!));
      expect(op['x-access'], route.id).toBe(route.access);
      // A public route may still answer 401 (login, to a wrong password), but never needs a session.
      if (route.access === 'public') expect(op.security, route.id).toEqual([]);
      else {
        expect(op.security, route.id).toBeUndefined();
        expect(codes, route.id).toContain('UNAUTHENTICATED');
      }
      if (route.access === 'operator' || route.access === 'admin')
        expect(codes, route.id).toContain('FORBIDDEN');
      expect(codes, route.id).toContain('MISDIRECTED');
    }
  });

  describe('answers only what it documents', () => {
    let admin: HttpClient;
    let viewer: HttpClient;

    const tokenClient = async (role: 'viewer' | 'admin') => {
      const session = await t.loginAs(role);
      const res = await session.post('/api/tokens', { name: 'openapi test' });
      const { token } = (await res.json()) as { token: string };
      return new HttpClient(t.baseUrl, { authorization: `Bearer ${token}` });
    };

    beforeAll(async () => {
      admin = await tokenClient('admin');
      viewer = await tokenClient('viewer');
    });

    /** The status and error code must be among the operation's documented responses. */
    async function expectDocumented(route: TableRoute, res: Response, what: string) {
      const op = operation(route);
      const text = await res.text();
      const at = `${route.method} ${route.path} ${what}: ${res.status} ${text.slice(0, 200)}`;
      const documented = op.responses[String(res.status)];
      expect(documented, at).toBeDefined();
      if (res.status < 400) return;
      const { code } = (JSON.parse(text) as { error: { code: ErrorCode } }).error;
      expect(ERROR_STATUS[code], at).toBe(res.status);
      expect(documentedCodes(documented!.content!['application/json']!.schema!), at).toContain(
        code,
      );
    }

    /** Example parameters that name nothing, and a body no schema accepts. */
    const bogus = (route: TableRoute) => ({
      path: route.path.replace(/:(\w+)/g, () => randomUUID()),
      body: route.method === 'GET' ? undefined : { bogus: true },
    });

    it.each(routes.map((r) => [`${r.method} ${r.path}`, r] as const))(
      '%s, to bad requests from anyone',
      async (_key, route) => {
        const { path, body } = bogus(route);
        for (const [who, client] of [
          ['anonymous', t.anonymous()],
          ['a viewer', viewer],
          ['an admin', admin],
        ] as const) {
          const res = await client.request(route.method, path, body);
          await expectDocumented(route, res, `${who} with bogus input`);
        }
        if (route.method !== 'GET') {
          const huge = JSON.stringify({ bogus: 'x'.repeat(100_000) });
          await expectDocumented(route, await admin.request(route.method, path, huge), 'huge body');
          const broken = await admin.request(route.method, path, '{not json');
          await expectDocumented(route, broken, 'broken JSON');
        }
      },
    );
  });

  it('answers bodies shaped exactly as their documented schemas', async () => {
    const admin = await t.loginAs('admin');
    const schemaOf = (id: string) => routes.find((r) => r.id === id)!.ok.json!;
    /** Parsing strips what a schema does not know, so an undocumented field shows as a difference. */
    const conforms = async (id: string, res: Response | Promise<Response>) => {
      const r = await res;
      const body: unknown = await r.json();
      expect(r.status, `${id}: ${JSON.stringify(body)}`).toBe(
        routes.find((x) => x.id === id)!.ok.status,
      );
      expect(schemaOf(id).parse(body), id).toEqual(body);
      return body as Json;
    };

    await conforms('health', admin.get('/api/health'));
    await conforms('me', admin.get('/api/auth/me'));
    await conforms('listProjects', admin.get('/api/projects'));
    await conforms('listTargets', admin.get('/api/projects/engine/targets'));
    await conforms('listHosts', admin.get('/api/hosts'));
    await conforms('listVms', admin.get('/api/vms'));
    await conforms('listChecks', admin.get('/api/hosts/checks'));
    await conforms('listPresets', admin.get('/api/presets'));
    await conforms('refreshCatalog', admin.post('/api/catalog/refresh'));

    const started = await conforms(
      'startStream',
      admin.post('/api/jobs/stream', { alias: 'engine', target: 'hello' }),
    );
    const jobId = String(started.jobId);
    await vi.waitFor(
      async () => {
        const job = await conforms('getJob', admin.get(`/api/jobs/${jobId}`));
        expect(job.status).toBe('success');
      },
      { timeout: 20_000, interval: 100 },
    );
    await conforms('jobEvents', admin.get(`/api/jobs/${jobId}/events`));
    await conforms('jobTail', admin.get(`/api/jobs/${jobId}/tail?limit=2`));
    await conforms('listJobs', admin.get('/api/jobs?limit=5'));
    await conforms('projectStats', admin.get('/api/projects/engine/stats'));
    const slow = await conforms(
      'startStream',
      admin.post('/api/jobs/stream', { alias: 'engine', target: 'slow' }),
    );
    await conforms('cancelJob', admin.post('/api/jobs/cancel', { jobId: slow.jobId }));
    await conforms('rerunJob', admin.post(`/api/jobs/${jobId}/rerun`));

    const user = await conforms(
      'createUser',
      admin.post('/api/users', { username: 'shape', password: 'long enough!', role: 'viewer' }),
    );
    await conforms(
      'updateUser',
      admin.request('PATCH', `/api/users/${String(user.id)}`, { role: 'operator' }),
    );
    await conforms('listUsers', admin.get('/api/users'));
    await conforms('createToken', admin.post('/api/tokens', { name: 'shape' }));
    await conforms('listTokens', admin.get('/api/tokens'));
    await conforms('listAudit', admin.get('/api/audit?limit=5'));
    await conforms(
      'login',
      t.anonymous().post('/api/auth/login', { username: 'shape', password: 'long enough!' }),
    );
  });
});
