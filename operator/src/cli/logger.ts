// JSON logs (pino). Anything that could carry a credential is redacted wherever it appears.
import { type Logger, pino } from 'pino';

export const REDACTED_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  'DATABASE_URL',
  '*.DATABASE_URL',
  '*.stringData',
  '*.data',
];

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { component: 'flotilla' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  });
}
