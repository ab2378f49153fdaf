// pino, with secrets redacted wherever they might appear in a logged object.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export function createLogger(
  opts: { level?: string; pretty?: boolean; destination?: DestinationStream } = {},
): Logger {
  const options: pino.LoggerOptions = {
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: {
      paths: [
        'password',
        '*.password',
        'token',
        '*.token',
        'req.headers.cookie',
        'req.headers.authorization',
        'databaseUrl',
        'adminPassword',
        'currentPassword',
        'newPassword',
        '*.currentPassword',
        '*.newPassword',
        'sessionSecret',
      ],
      censor: '[redacted]',
    },
    ...(opts.pretty
      ? {
          transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } },
        }
      : {}),
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
