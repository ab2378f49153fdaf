// DNS-rebinding guard (SPEC §4): only 127.0.0.1, localhost (any port) or the configured public URL may be the Host.
import type { RequestHandler } from 'express';
import { AppError } from '../../errors.js';
import { hostAllowed } from '../../boundary/host.js';

export function hostCheck(opts: { publicUrl: string | null }): RequestHandler {
  return (req, _res, next) => {
    next(
      hostAllowed(req.headers.host, opts.publicUrl)
        ? undefined
        : new AppError('MISDIRECTED', `host "${req.headers.host ?? ''}" is not served here`),
    );
  };
}
