// The backend-URL override (SPEC §4): pages of a listed origin may call the API with a token;
// no other origin gets a CORS answer, and cookies are never allowed across origins.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient, startTestApp, type TestApp } from '../fixtures/app.js';

const LISTED = 'http://cockpit.example:5173';

describe('CORS for the backend-URL override', () => {
  let t: TestApp;
  let token: string;

  beforeAll(async () => {
    t = await startTestApp({ config: { security: { allowedOrigins: [LISTED] } } });
    const operator = await t.loginAs('operator');
    const res = await operator.post('/api/tokens', { name: 'override' });
    expect(res.status).toBe(201);
    ({ token } = (await res.json()) as { token: string });
  });
  afterAll(async () => {
    await t?.close();
  });

  const preflight = (origin: string) =>
    new HttpClient(t.baseUrl, {}).request('OPTIONS', '/api/jobs', undefined, {
      origin,
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'authorization',
    });

  it('answers a listed origin’s preflight, allowing the Authorization header but no cookies', async () => {
    const res = await preflight(LISTED);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(LISTED);
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain(
      'authorization',
    );
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('gives any other origin no CORS header at all', async () => {
    const res = await preflight('http://evil.example');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const call = await new HttpClient(t.baseUrl, {
      origin: 'http://evil.example',
      authorization: `Bearer ${token}`,
    }).get('/api/jobs');
    expect(call.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('serves a token call from a listed origin, with the header the browser needs', async () => {
    const res = await new HttpClient(t.baseUrl, {
      origin: LISTED,
      authorization: `Bearer ${token}`,
    }).get('/api/jobs');
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(LISTED);
    // Pages may connect to another backend (it decides, by CORS and token); scripts stay ours.
    expect(res.headers.get('content-security-policy')).toContain(
      "connect-src 'self' http: https: ws: wss:",
    );
  });

  it('still refuses a cookie-authenticated change from an unlisted origin', async () => {
    const operator = await t.loginAs('operator');
    const res = await operator.post('/api/catalog/refresh', {}, { origin: 'http://evil.example' });
    expect(res.status).toBe(403);
  });
});
