import type { FastifyBaseLogger } from 'fastify';
import pino, { type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger } from 'pino';
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

const LOG_METHODS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
const BINDINGS = Symbol('crew.requestLogBindings');
const CHILD = Symbol('crew.requestLogChild');
interface LazyRequestLogger {
  [BINDINGS]: Bindings;
  [CHILD]?: FastifyBaseLogger;
}
const lazyPrototypes = new WeakMap<FastifyBaseLogger, object>();

/** The shared prototype of one parent's lazy request loggers: each log method makes pino's child on first real use. */
function lazyPrototypeOf(parent: FastifyBaseLogger): object {
  let prototype = lazyPrototypes.get(parent);
  if (prototype) return prototype;
  const child = (self: LazyRequestLogger) => (self[CHILD] ??= parent.child(self[BINDINGS]));
  const methods: Record<string, unknown> = {
    child(this: LazyRequestLogger, bindings: Bindings, options?: object) {
      return child(this).child(bindings, options);
    },
    bindings(this: LazyRequestLogger) {
      return (child(this) as Logger).bindings();
    },
    setBindings(this: LazyRequestLogger, bindings: Bindings) {
      (child(this) as Logger).setBindings(bindings);
    },
  };
  for (const level of LOG_METHODS) {
    methods[level] = function log(this: LazyRequestLogger, ...args: unknown[]) {
      // The parent's level decides, read at each call (LOG_LEVEL); a dropped line costs no child.
      if (!(parent as Logger).isLevelEnabled(level)) return;
      (child(this)[level] as (...a: unknown[]) => void)(...args);
    };
  }
  prototype = Object.assign(Object.create(parent) as object, methods);
  lazyPrototypes.set(parent, prototype);
  return prototype;
}

/**
 * Fastify's `childLoggerFactory`: each request's logger (the one carrying its reqId) becomes pino's `child()` only when
 * the request logs a line at an enabled level. At LOG_LEVEL=warn or silent almost no request logs anything, and pino's
 * child (its bindings stringified through the redaction rules) was ~3 % of a signed-in request's CPU (docs/PERFORMANCE.md).
 * Lines that are written are the same as before: pino's own child writes them, with the reqId. A route with its own
 * logLevel or serializers gets pino's child at once.
 * @example Fastify({ loggerInstance: createLogger(config), childLoggerFactory: lazyRequestLoggerFactory })
 */
export function lazyRequestLoggerFactory(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  if (options.level !== undefined || options.serializers !== undefined) return logger.child(bindings, options);
  const lazy = Object.create(lazyPrototypeOf(logger)) as LazyRequestLogger & FastifyBaseLogger;
  lazy[BINDINGS] = bindings;
  return lazy;
}
