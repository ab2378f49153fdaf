// helmet with SPEC §4's Content-Security-Policy: scripts only from us (plus the hashes of the SPA's
// inline bootstrap, read from the built index.html), never 'unsafe-inline' for scripts.
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import helmet from 'helmet';

/** 'sha256-…' sources for every inline <script> (one without src) in an HTML page. */
export function inlineScriptHashes(html: string): string[] {
  const hashes: string[] = [];
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    if (/\bsrc\s*=/i.test(m[1]!)) continue;
    hashes.push(`'sha256-${createHash('sha256').update(m[2]!).digest('base64')}'`);
  }
  return hashes;
}

export interface SecurityHeaderOptions {
  /** Hashes of the SPA's inline scripts, from inlineScriptHashes(). */
  scriptHashes: string[];
}

export function securityHeaders(opts: SecurityHeaderOptions): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", ...opts.scriptHashes],
        // Svelte and bits-ui set style attributes; a style cannot run code.
        styleSrc: ["'self'", "'unsafe-inline'"],
        // The backend-URL override may point the page at another backend, which decides with its
        // own allowedOrigins (CORS) and a token; connecting cannot run code, scripts stay 'self'.
        connectSrc: ["'self'", 'http:', 'https:', 'ws:', 'wss:'],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // The product is often reached over plain http on localhost; HSTS there would pin nothing useful
    // and upgrade-insecure-requests (left out above) would break it.
    strictTransportSecurity: false,
    // The same as frame-ancestors 'none', for browsers that predate CSP 2.
    xFrameOptions: { action: 'deny' },
  });
}
