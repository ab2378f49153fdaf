// The OpenAPI 3.1 document of the route table, its schemas converted from the protocol's zod
// schemas (z.toJSONSchema); every schema the protocol exports by name becomes a component.
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import * as protocol from '@vmo/protocol';
import { ERROR_STATUS, ErrorBody, type ErrorCode } from '@vmo/protocol';
import { SESSION_COOKIE } from './middleware/session.js';
import { routeErrors, tableRoutes, type Access, type TableRoute } from './route-table.js';

type JsonSchema = Record<string, unknown>;
type Io = 'input' | 'output';

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description: string };
  jsonSchemaDialect: string;
  security: Record<string, string[]>[];
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, unknown> };
}

const DIALECT = 'https://json-schema.org/draft/2020-12/schema';

const ACCESS: Record<Access, string> = {
  public: 'Public: no sign-in.',
  viewer: 'Any signed-in user.',
  operator: 'The operator or admin role.',
  admin: 'The admin role.',
};

/** `routes`: the route table's unless a test gives its own. */
export function openApiDocument(opts: { version: string; routes?: TableRoute[] }): OpenApiDocument {
  const schemas = new Components();
  const paths: OpenApiDocument['paths'] = {};
  for (const route of opts.routes ?? tableRoutes()) {
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    (paths[path] ??= {})[route.method.toLowerCase()] = operation(route, schemas);
  }
  return {
    openapi: '3.1.1',
    info: {
      title: 'vm-orchestrator',
      version: opts.version,
      description:
        'Runs make targets and remote commands, locally or over ssh, and keeps every job and its output. ' +
        'Errors are `{error: {code, message}}`. Live output and terminals are on the Socket.io namespace `/jobs`.',
    },
    jsonSchemaDialect: DIALECT,
    security: [{ session: [] }, { bearer: [] }],
    paths,
    components: {
      schemas: reachable(schemas.all, paths),
      securitySchemes: {
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: SESSION_COOKIE,
          description:
            'Set by POST /api/auth/login. A change made with it needs an Origin of this server or of security.allowedOrigins.',
        },
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            "A personal API token (`vmo_…`, POST /api/tokens), with its user's role; no Origin needed.",
        },
      },
    },
  };
}

/** The components the paths refer to, directly or through other components, sorted by name. */
function reachable(
  all: Record<string, JsonSchema>,
  paths: OpenApiDocument['paths'],
): Record<string, JsonSchema> {
  const seen = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    for (const [key, child] of Object.entries(node)) {
      if (key !== '$ref' || typeof child !== 'string') {
        visit(child);
        continue;
      }
      const name = child.slice(child.lastIndexOf('/') + 1);
      if (seen.has(name)) continue;
      seen.add(name);
      visit(all[name]);
    }
  };
  visit(paths);
  return Object.fromEntries([...seen].sort().map((name) => [name, all[name]!]));
}

function operation(route: TableRoute, schemas: Components): Record<string, unknown> {
  const parameters = [
    ...fields(route.params, 'input', schemas).map((f) => ({ ...f, in: 'path', required: true })),
    ...fields(route.query, 'input', schemas).map((f) => ({ ...f, in: 'query' })),
  ];
  return {
    operationId: route.id,
    tags: [route.tag],
    summary: route.summary,
    description: ACCESS[route.access],
    'x-access': route.access,
    ...(route.access === 'public' ? { security: [] } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: schemas.ref(route.body, 'input') } },
          },
        }
      : {}),
    responses: { ...success(route, schemas), ...errorResponses(route, schemas) },
  };
}

/** The route's answer, and the others it may give instead (`also`). */
function success(route: TableRoute, schemas: Components): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const { status, description, json, media } of [route.ok, ...(route.also ?? [])]) {
    const content = json
      ? { 'application/json': { schema: schemas.ref(json, 'output') } }
      : media
        ? { [media]: {} }
        : undefined;
    const headers =
      status === 302 || status === 303
        ? { Location: { schema: { type: 'string' }, required: true } }
        : undefined;
    responses[status] = {
      description,
      ...(content ? { content } : {}),
      ...(headers ? { headers } : {}),
    };
  }
  return responses;
}

/** One response per status, its body one of the codes the route answers with that status. */
function errorResponses(route: TableRoute, schemas: Components): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of routeErrors(route)) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, unknown> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const bodies = codes.map((code) => errorBody(code, route, schemas));
    responses[status] = {
      description: codes.join(', '),
      content: {
        'application/json': { schema: bodies.length === 1 ? bodies[0] : { anyOf: bodies } },
      },
    };
  }
  return responses;
}

/** `{error: {code, message}}` for one code, a component (`JobNotFoundError`) unless the route adds fields. */
function errorBody(code: ErrorCode, route: TableRoute, schemas: Components): JsonSchema {
  const error = ErrorBody.shape.error.extend({ code: z.literal(code) });
  const fields = route.errorFields?.[code];
  if (fields) return schemas.ref(fields.extend({ error }), 'output');
  const name = code.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase());
  return schemas.named(`${name}Error`, ErrorBody.extend({ error }));
}

/** An object schema's properties as OpenAPI parameters: name, required, schema. */
function fields(
  object: z.ZodObject | undefined,
  io: Io,
  schemas: Components,
): { name: string; required: boolean; schema: JsonSchema }[] {
  if (!object) return [];
  const resolved = schemas.resolve(schemas.ref(object, io));
  const properties = (resolved.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((resolved.required ?? []) as string[]);
  return Object.entries(properties).map(([name, schema]) => ({
    name,
    required: required.has(name),
    schema,
  }));
}

/** components.schemas, filled as the operations refer to the protocol's named schemas. */
class Components {
  readonly all: Record<string, JsonSchema> = {};
  private readonly names = z.registry<{ id: string }>();
  private readonly byName = new Map<string, z.ZodType>();
  private readonly ioDiffers = new Map<string, boolean>();

  constructor() {
    for (const [name, value] of Object.entries(protocol)) {
      if (!(value instanceof z.ZodType) || this.names.has(value)) continue;
      this.names.add(value, { id: name });
      this.byName.set(name, value);
    }
  }

  /** The JSON Schema of `schema`, with each named protocol schema in it as a $ref to a component. */
  ref(schema: z.ZodType, io: Io): JsonSchema {
    const converted = z.toJSONSchema(schema, { metadata: this.names, io }) as JsonSchema;
    const { $schema: _dialect, $defs, ...root } = converted;
    for (const [name, def] of Object.entries(($defs ?? {}) as Record<string, JsonSchema>)) {
      const component = this.componentName(name, io);
      const schemaOf = this.rewrite(def, io);
      const known = this.all[component];
      if (known && !isDeepStrictEqual(known, schemaOf))
        throw new Error(`two different schemas would be the component ${component}`);
      this.all[component] = schemaOf;
    }
    return this.rewrite(root, io);
  }

  /** A component of our own (not a protocol export), as a $ref; its io is the response's. */
  named(name: string, schema: z.ZodType): JsonSchema {
    this.all[name] ??= this.ref(schema, 'output');
    return { $ref: `#/components/schemas/${name}` };
  }

  /** A $ref to a component, followed; anything else as it is. */
  resolve(schema: JsonSchema): JsonSchema {
    const ref = schema.$ref;
    if (typeof ref !== 'string') return schema;
    return this.all[ref.slice(ref.lastIndexOf('/') + 1)]!;
  }

  /**
   * A schema reads the same as request and as response unless it has defaults, coercions or
   * open objects; then the request side gets its own component, `<Name>Input`.
   */
  private componentName(name: string, io: Io): string {
    if (io === 'output') return name;
    let differs = this.ioDiffers.get(name);
    if (differs === undefined) {
      const schema = this.byName.get(name);
      if (!schema) return name;
      const as = (side: Io) => z.toJSONSchema(schema, { metadata: this.names, io: side });
      differs = !isDeepStrictEqual(as('input'), as('output'));
      this.ioDiffers.set(name, differs);
    }
    return differs ? `${name}Input` : name;
  }

  private rewrite(value: JsonSchema, io: Io): JsonSchema {
    const walk = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(walk);
      if (node === null || typeof node !== 'object') return node;
      const out: JsonSchema = {};
      for (const [key, child] of Object.entries(node)) {
        out[key] =
          key === '$ref' && typeof child === 'string' && child.startsWith('#/$defs/')
            ? `#/components/schemas/${this.componentName(child.slice('#/$defs/'.length), io)}`
            : walk(child);
      }
      return out;
    };
    return walk(value) as JsonSchema;
  }
}
