import { describe, expect, it } from 'vitest';
import {
  BACKEND_KEY,
  backendUrl,
  checkBackend,
  clearBackend,
  loadBackend,
  saveBackend,
} from './backend.js';

/** A Storage stand-in: a Map behind getItem/setItem/removeItem. */
function memoryStore() {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k: string) => data.get(k) ?? null,
    setItem: (k: string, v: string) => void data.set(k, v),
    removeItem: (k: string) => void data.delete(k),
  };
}

describe('the backend-URL override', () => {
  it('keeps the origin of a valid URL and a trimmed token', () => {
    expect(checkBackend(' https://vmo.example.com/ ', ' vmo_abc ')).toEqual({
      override: { url: 'https://vmo.example.com', token: 'vmo_abc' },
      problem: null,
    });
    expect(checkBackend('http://10.0.0.5:3000', 't').override?.url).toBe('http://10.0.0.5:3000');
  });

  it.each([
    ['not a url', 't', 'is not a URL'],
    ['ftp://host', 't', 'must start with http:// or https://'],
    ['javascript:alert(1)', 't', 'must start with http:// or https://'],
    ['https://user:pw@host', 't', 'not in the URL'],
    ['https://host/api', 't', 'no path'],
    ['https://host/?x=1', 't', 'no path'],
    ['https://host', '  ', 'token is needed'],
    ['https://host', 'a b', 'cannot contain spaces'],
  ])('refuses %s with token %j', (url, token, problem) => {
    const checked = checkBackend(url, token);
    expect(checked.override).toBeNull();
    expect(checked.problem).toContain(problem);
  });

  it('survives a reload: saved, read back, cleared', () => {
    const store = memoryStore();
    expect(loadBackend(store)).toBeNull();
    saveBackend({ url: 'https://vmo.example.com', token: 'vmo_abc' }, store);
    expect(loadBackend(store)).toEqual({ url: 'https://vmo.example.com', token: 'vmo_abc' });
    clearBackend(store);
    expect(loadBackend(store)).toBeNull();
  });

  it('treats a damaged or unsafe stored value as no override (same origin)', () => {
    const store = memoryStore();
    for (const bad of ['{', '"x"', '{"url":1,"token":"t"}', '{"url":"ftp://h","token":"t"}']) {
      store.data.set(BACKEND_KEY, bad);
      expect(loadBackend(store)).toBeNull();
    }
    expect(loadBackend(null)).toBeNull();
  });

  it('prefixes API paths only under an override', () => {
    expect(backendUrl('/api/jobs', null)).toBe('/api/jobs');
    expect(backendUrl('/api/jobs', { url: 'https://h', token: 't' })).toBe('https://h/api/jobs');
  });
});
