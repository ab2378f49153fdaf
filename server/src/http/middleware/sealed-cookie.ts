// A value the browser carries but can neither read nor alter: AES-256-GCM under a key derived from
// the session secret (shared by every instance), with its own expiry. Holds a single sign-on's
// state, nonce and PKCE verifier between the redirect to the provider and its way back, so an
// anonymous visitor leaves no row behind.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';

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
  const key = Buffer.from(hkdfSync('sha256', opts.secret, '', `vmo ${opts.purpose}`, 32));
  const options = (req: Request) => ({
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: req.secure,
    path: opts.path,
  });
  return {
    set(req, res, value) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const plain = JSON.stringify({ v: value, exp: Date.now() + opts.maxAgeMs });
      const sealed = Buffer.concat([
        iv,
        cipher.update(plain, 'utf8'),
        cipher.final(),
        cipher.getAuthTag(),
      ]);
      res.cookie(opts.name, sealed.toString('base64url'), {
        ...options(req),
        maxAge: opts.maxAgeMs,
      });
    },
    get(req) {
      const text = readCookie(req.headers.cookie, opts.name);
      if (!text) return null;
      try {
        const sealed = Buffer.from(text, 'base64url');
        if (sealed.length < 12 + 16 + 1) return null;
        const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
        decipher.setAuthTag(sealed.subarray(sealed.length - 16));
        const plain = Buffer.concat([
          decipher.update(sealed.subarray(12, sealed.length - 16)),
          decipher.final(),
        ]).toString('utf8');
        const { v, exp } = JSON.parse(plain) as { v: T; exp: number };
        return Date.now() < exp ? v : null;
      } catch {
        return null; // altered, or sealed under another secret
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
