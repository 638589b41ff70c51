/** The structured logger (pino). Credentials are redacted by path, and inside any URL in a logged string. */
import { pino, type Logger, type DestinationStream } from 'pino';
import { redactCredentials, redactDeep } from './core/redact.js';

export type { Logger };

export function createLogger(level: string, dest?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { app: 'larder' },
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', '*.password', '*.token', 'auth'],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { log: (obj) => redactDeep(obj) },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a: unknown) => (typeof a === 'string' ? redactCredentials(a) : a)) as Parameters<typeof method>);
        },
      },
    },
    dest ?? pino.destination({ fd: 1, sync: false }),
  );
}
