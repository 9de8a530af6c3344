import pino, { type DestinationStream, type Logger } from 'pino';
import { build as prettyStream } from 'pino-pretty';
import { wantsColour, type Config } from '../config.ts';

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
 * Whether logs are readable lines or JSON: LOG_FORMAT=json/pretty as written; `auto` gives lines on a terminal (a person
 * is reading) and JSON otherwise (a log collector is).
 * @example logFormatFor('auto', Boolean(process.stdout.isTTY)) // 'pretty' in a terminal
 */
export function logFormatFor(format: Config['logFormat'], stdoutIsTty: boolean): 'json' | 'pretty' {
  return format === 'auto' ? (stdoutIsTty ? 'pretty' : 'json') : format;
}

interface LogRecord {
  msg?: string;
  reqId?: string;
  req?: { method?: string; url?: string };
  res?: { statusCode?: number };
  responseTime?: number;
}

/** One readable line per Fastify request log: `→ GET /login` on arrival, `← 200 in 3 ms` when answered. */
export function formatLogMessage(log: LogRecord): string {
  const id = log.reqId ? ` (${log.reqId})` : '';
  if (log.msg === 'incoming request' && log.req) return `→ ${log.req.method} ${log.req.url}${id}`;
  if (log.msg === 'request completed' && log.res) return `← ${log.res.statusCode} in ${Math.round(log.responseTime ?? 0)} ms${id}`;
  return `${log.msg ?? ''}${id}`;
}

/**
 * Creates the app's logger (pino) at LOG_LEVEL with the redaction rules above: JSON, or with LOG_FORMAT (see
 * {@link logFormatFor}) one readable line per event through pino-pretty. Redaction applies before either.
 * @example const logger = createLogger(config); // or createLogger(config, captureStream) in tests (JSON unless logFormat says pretty)
 */
export function createLogger(config: Pick<Config, 'logLevel'> & Partial<Pick<Config, 'logFormat'>>, destination?: DestinationStream): Logger {
  const options = { level: config.logLevel, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  const format = logFormatFor(config.logFormat ?? (destination ? 'json' : 'auto'), Boolean(process.stdout.isTTY));
  if (format === 'pretty') {
    const pretty = prettyStream({
      ...(destination ? { destination } : {}),
      colorize: destination ? false : wantsColour(Boolean(process.stdout.isTTY)),
      singleLine: true,
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname,reqId,req,res,responseTime',
      messageFormat: (log) => formatLogMessage(log as LogRecord),
      sync: true,
    });
    return pino(options, pretty);
  }
  return destination ? pino(options, destination) : pino(options);
}
