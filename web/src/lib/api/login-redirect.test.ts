import { describe, expect, it } from 'vitest';
import { loginPath, safeNext } from './login-redirect.js';

describe(safeNext.name, () => {
  it('keeps a same-site path with its query and line anchor', () => {
    expect(safeNext('/jobs/1f2e?x=1#L12')).toBe('/jobs/1f2e?x=1#L12');
  });

  it.each([null, '', 'https://evil.example', '//evil.example/x', '/\\evil.example', 'jobs'])(
    'refuses %j, which could leave the site, and goes home',
    (next) => {
      expect(safeNext(next)).toBe('/');
    },
  );

  it('never loops back to the sign-in page', () => {
    expect(safeNext('/login?next=%2F')).toBe('/');
  });
});

describe(loginPath.name, () => {
  it('remembers where the user was, encoded', () => {
    expect(loginPath('/jobs/1?x=1#L5')).toBe('/login?next=%2Fjobs%2F1%3Fx%3D1%23L5');
  });

  it('needs no next for the dashboard', () => {
    expect(loginPath('/')).toBe('/login');
  });
});
