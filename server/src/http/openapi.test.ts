import { describe, expect, it } from 'vitest';
import { EventsQuery } from '@vmo/protocol';
import { openApiDocument } from './openapi.js';
import type { TableRoute } from './route-table.js';

describe(openApiDocument.name, () => {
  const doc = openApiDocument({ version: '1.2.3' });
  const schemas = doc.components.schemas;

  it('is the same document every time it is built', () => {
    expect(JSON.stringify(openApiDocument({ version: '1.2.3' }))).toBe(JSON.stringify(doc));
    expect(doc.info.version).toBe('1.2.3');
  });

  it('gives a request schema its own component where defaults make it differ from a response', () => {
    // EventsQuery's limit has a default: optional to send, always there once parsed.
    const route: TableRoute = {
      id: 'echo',
      tag: 'test',
      method: 'POST',
      path: '/api/echo',
      summary: 'echo',
      allow: 'signedIn',
      access: 'viewer',
      body: EventsQuery,
      ok: { status: 200, json: EventsQuery, description: 'the same' },
    };
    const echo = openApiDocument({ version: 'x', routes: [route] }).components.schemas;
    expect(echo.EventsQueryInput).toMatchObject({ properties: { limit: { default: 1000 } } });
    expect(echo.EventsQueryInput!.required).toBeUndefined();
    expect(echo.EventsQuery).toMatchObject({ required: ['after', 'limit'] });
    // StartStream reads the same both ways, so it keeps its name.
    expect(schemas.StartStream).toMatchObject({ required: ['alias', 'target'] });
    expect(schemas.StartStreamInput).toBeUndefined();
  });

  it('keeps only the components the paths refer to, sorted, with no JSON Schema $defs left', () => {
    const text = JSON.stringify(doc);
    const names = Object.keys(schemas);
    expect(names).toEqual([...names].sort());
    for (const name of names) expect(text).toContain(`"#/components/schemas/${name}"`);
    expect(text).not.toContain('$defs');
    expect(text).not.toContain('"$schema"');
    // Socket-only schemas are no part of the REST API.
    expect(schemas.TerminalInput).toBeUndefined();
  });

  it('gives each error code its own component, listed per status', () => {
    expect(schemas.JobNotFoundError).toMatchObject({
      properties: { error: { properties: { code: { const: 'JOB_NOT_FOUND' } } } },
    });
    const tail = doc.paths['/api/jobs/{id}/tail']!.get as { responses: Record<string, unknown> };
    expect(Object.keys(tail.responses)).toEqual(['200', '400', '401', '403', '404', '421', '503']);
  });
});
