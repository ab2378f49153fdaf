import { ROUTE_TABLE } from '@vmo/protocol';
import { describe, expect, it } from 'vitest';
import { call } from './client.js';
import { ROUTES } from './routes.js';

const ID = '1f2e3d4c-0000-4000-8000-000000000001';

/** A fetch that records each request and answers with `body`. */
function answering(body: unknown, status = 200) {
  const sent: { url: string; method: string; body: unknown }[] = [];
  const fetch = (url: RequestInfo | URL, init?: RequestInit) => {
    sent.push({
      url: String(url),
      method: init?.method ?? 'GET',
      body: init?.body === undefined ? undefined : JSON.parse(String(init.body)),
    });
    return Promise.resolve(
      new Response(status === 204 ? null : JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json' },
      }),
    );
  };
  return { fetch: fetch as typeof globalThis.fetch, sent };
}

describe('call()', () => {
  it("takes the method and path from the route's declaration, and leaves out empty query fields", async () => {
    const tail = { events: [], lineStart: null, open: [], nextBefore: null, nextCut: null };
    const { fetch, sent } = answering(tail);
    const page = await call(
      ROUTE_TABLE.jobs.jobTail,
      { params: { id: ID }, query: { bytes: 4096, before: null } },
      { fetch },
    );
    expect(page).toEqual(tail);
    expect(sent).toEqual([
      { url: `/api/jobs/${ID}/tail?bytes=4096`, method: 'GET', body: undefined },
    ]);
  });

  it('sends the body of a change, and reads an empty answer as nothing', async () => {
    const { fetch, sent } = answering(null, 204);
    await expect(
      call(ROUTE_TABLE.tokens.revokeToken, { params: { id: 'a/b' } }, { fetch }),
    ).resolves.toBeUndefined();
    expect(sent[0]).toMatchObject({ url: '/api/tokens/a%2Fb', method: 'DELETE' });
    const started = answering({ jobId: ID, type: 'stream' });
    await call(ROUTE_TABLE.jobs.startStream, { body: { alias: 'web', target: 'build' } }, started);
    expect(started.sent[0]).toEqual({
      url: '/api/jobs/stream',
      method: 'POST',
      body: { alias: 'web', target: 'build' },
    });
  });

  it("holds every answer to the route's schema in tests, so a drift fails here", async () => {
    const { fetch } = answering({ jobId: ID, type: 'not-a-type' });
    await expect(
      call(ROUTE_TABLE.jobs.startStream, { body: { alias: 'web', target: 'build' } }, { fetch }),
    ).rejects.toThrow(/type/);
    // Also through the routes the app holds, which carry no schema themselves.
    await expect(
      call(ROUTES.jobs.startStream, { body: { alias: 'web', target: 'build' } }, { fetch }),
    ).rejects.toThrow(/type/);
  });
});
