import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from '../config.ts';

/**
 * Log paths that are always censored: cookies and authorization headers, and any field named like a secret.
 * Request bodies are never logged at all (OWASP ASVS 7.1.1: no credentials or session tokens in logs).
 */
export const REDACT_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
  '*.password',
  '*.code',
  '*.secret',
  '*.token',
  '*.backupCodes',
];

/**
 * Creates the app's structured JSON logger (pino) at LOG_LEVEL with the redaction rules above.
 * @example const logger = createLogger(config); // or createLogger(config, captureStream) in tests
 */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Logger {
  const options = { level: config.logLevel, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
