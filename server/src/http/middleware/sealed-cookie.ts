// A value the browser carries but can neither read nor alter (sealed: auth/sealing.ts), with its
// own expiry. Holds a single sign-on's state, nonce and PKCE verifier between the redirect to the
// provider and its way back, so an anonymous visitor leaves no row behind.
import type { Request, Response } from 'express';
import { sealer } from '../../auth/sealing.js';

export interface SealedCookie<T> {
  /** Sets the cookie to `value`, valid for the cookie's lifetime from now. */
  set(req: Request, res: Response, value: T): void;
  /** The value, or null when absent, altered, sealed under another key or expired. */
  get(req: Request): T | null;
  clear(req: Request, res: Response): void;
}

export function sealedCookie<T>(opts: {
  name: string;
  secret: string;
  /** The key's purpose: one secret, one key per use. */
  purpose: string;
  path: string;
  maxAgeMs: number;
}): SealedCookie<T> {
  const box = sealer(opts.secret, opts.purpose);
  const options = (req: Request) => ({
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: req.secure,
    path: opts.path,
  });
  return {
    set(req, res, value) {
      const sealed = box.seal(JSON.stringify({ v: value, exp: Date.now() + opts.maxAgeMs }));
      res.cookie(opts.name, sealed, { ...options(req), maxAge: opts.maxAgeMs });
    },
    get(req) {
      const text = readCookie(req.headers.cookie, opts.name);
      const plain = text ? box.open(text) : null;
      if (!plain) return null;
      try {
        const { v, exp } = JSON.parse(plain) as { v: T; exp: number };
        return Date.now() < exp ? v : null;
      } catch {
        return null;
      }
    },
    clear(req, res) {
      res.clearCookie(opts.name, options(req));
    },
  };
}

/** One cookie's value from a Cookie header (the first of that name). */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}
