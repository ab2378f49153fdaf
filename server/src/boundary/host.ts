// Who may send a request here, for HTTP and Socket.io alike (SPEC §4): the Host (a DNS-rebinding
// guard: only 127.0.0.1, localhost, any port, or security.publicUrl) and, for browsers, the Origin.
import type { IncomingMessage, ServerResponse } from 'node:http';

export function hostAllowed(hostHeader: string | undefined, publicUrl: string | null): boolean {
  if (!hostHeader) return false;
  const host = hostHeader.toLowerCase();
  if (publicUrl && host === new URL(publicUrl).host.toLowerCase()) return true;
  const name = host.replace(/:\d+$/, '');
  return name === '127.0.0.1' || name === 'localhost';
}

/**
 * The same guard for engine.io (`io.engine.use`), so a socket request, polling or upgrade, with a
 * foreign Host gets the same 421 and error body as HTTP rather than engine.io's 403.
 */
export function engineHostCheck(opts: { publicUrl: string | null }) {
  return (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void => {
    if (hostAllowed(req.headers.host, opts.publicUrl)) return next();
    const body = JSON.stringify({
      error: {
        code: 'MISDIRECTED',
        message: `host "${req.headers.host ?? ''}" is not served here`,
      },
    });
    res.writeHead(421, { 'content-type': 'application/json; charset=utf-8' });
    res.end(body);
  };
}

/** The origins a browser may send for this request: its own, the public URL, and the configured extra ones. */
export function originAllowed(
  req: IncomingMessage,
  opts: { publicUrl: string | null; allowedOrigins: string[] },
): boolean {
  const origin = req.headers.origin;
  if (!origin) return false;
  if (opts.allowedOrigins.some((o) => new URL(o).origin === origin)) return true;
  if (opts.publicUrl && new URL(opts.publicUrl).origin === origin) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  // Same origin: the Origin's host:port is the Host this request was sent to (the Host itself passed
  // hostCheck), and its scheme is the one this server speaks: plain http (TLS ends at a proxy, whose
  // https origin is security.publicUrl, checked above).
  return (
    parsed.protocol === 'http:' &&
    parsed.host.toLowerCase() === (req.headers.host ?? '').toLowerCase()
  );
}
