import { readFileSync, existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { parseEncryptionKeys } from './lib/secret-box.ts';

/** Which database engine a DATABASE_URL selects. */
export type DatabaseConfig =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string };

/** Who must enrol in two-factor authentication before using the app. */
export type Require2fa = 'off' | 'admins' | 'all';

/** A per-IP rate limit such as 30 requests per 60 000 ms. */
export interface RateLimit {
  max: number;
  timeWindowMs: number;
}

/** The application's configuration, read once from the environment and frozen. */
export interface Config {
  database: DatabaseConfig;
  port: number;
  host: string;
  /** base64 keys from CREW_ENCRYPTION_KEY, first encrypts; null means "use the key file beside the SQLite database". */
  encryptionKeys: string | null;
  issuer: string;
  require2fa: Require2fa;
  authRateLimit: RateLimit;
  registration: 'open' | 'closed';
  cookieSecure: 'auto' | boolean;
  trustProxy: boolean;
  backupsToKeep: number;
  /** Folder of migration files; null means the project's src/migrations. */
  migrationsDir: string | null;
  logLevel: string;
  /** WebAuthn relying-party id (CREW_RP_ID): a registrable domain or `localhost`, never an IP address. */
  rpId: string;
  /** The one origin passkey ceremonies must come from (CREW_ORIGIN), e.g. `https://crew.example.org`. */
  origin: string;
}

/** A configuration value that cannot be used; the message names the variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses DATABASE_URL: a SQLite file path (or `sqlite:PATH`), or `postgres://…`.
 * @example parseDatabaseUrl('sqlite:data/app.db') // { kind: 'sqlite', path: '/abs/data/app.db' }
 */
export function parseDatabaseUrl(value: string, cwd = process.cwd()): DatabaseConfig {
  const raw = value.trim();
  if (raw === '') throw new ConfigError('DATABASE_URL', 'is empty; use a SQLite file path or postgres://user@host:5432/db');
  if (/^postgres(ql)?:\/\//i.test(raw)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ConfigError('DATABASE_URL', `is not a valid PostgreSQL URL (expected postgres://user:password@host:5432/database)`);
    }
    if (!url.hostname && !url.searchParams.get('host')) {
      throw new ConfigError('DATABASE_URL', 'names no host (expected postgres://user:password@host:5432/database)');
    }
    if (url.pathname.length <= 1) {
      throw new ConfigError('DATABASE_URL', 'names no database (expected postgres://user:password@host:5432/database)');
    }
    return { kind: 'postgres', url: raw };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) && !/^sqlite:/i.test(raw) && !/^file:/i.test(raw)) {
    throw new ConfigError('DATABASE_URL', `uses an unsupported scheme "${raw.split(':')[0]}"; use a SQLite file path, sqlite:PATH or postgres://…`);
  }
  const path = raw.replace(/^sqlite:(\/\/)?/i, '').replace(/^file:(\/\/)?/i, '');
  if (path === '' || path === ':memory:') {
    throw new ConfigError('DATABASE_URL', 'needs a SQLite file path (an in-memory database would lose every account)');
  }
  return { kind: 'sqlite', path: resolve(cwd, path) };
}

/** Parses `N/second`, `N/minute` or `N/hour`. */
export function parseRateLimit(value: string): RateLimit {
  const match = /^\s*(\d+)\s*\/\s*(second|minute|hour)\s*$/i.exec(value);
  const n = match ? Number(match[1]) : NaN;
  if (!match || !Number.isSafeInteger(n) || n < 1) {
    throw new ConfigError('CREW_AUTH_RATE_LIMIT', `"${value}" is not N/second, N/minute or N/hour with N ≥ 1`);
  }
  const unit = match[2]!.toLowerCase();
  const timeWindowMs = unit === 'second' ? 1000 : unit === 'minute' ? 60_000 : 3_600_000;
  return { max: n, timeWindowMs };
}

function oneOf<T extends string>(variable: string, value: string, allowed: readonly T[]): T {
  const v = value.trim().toLowerCase();
  if (!(allowed as readonly string[]).includes(v)) {
    throw new ConfigError(variable, `"${value}" is not one of: ${allowed.join(', ')}`);
  }
  return v as T;
}

function integer(variable: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || n < min || n > max) {
    throw new ConfigError(variable, `"${value}" is not a whole number from ${min} to ${max}`);
  }
  return n;
}

/** Whether a host is an IPv4 or IPv6 address literal (WebAuthn refuses those as RP ids). */
function isIpAddress(host: string): boolean {
  return isIP(host.replace(/^\[|\]$/g, '')) !== 0;
}

/**
 * CREW_RP_ID and CREW_ORIGIN, defaulting from HOST and PORT. WebAuthn Level 3 §5.1.3 / §13.4.9: the RP id must be a
 * registrable domain suffix of the origin's host (or equal to it), and an IP address is not a valid domain, so a server
 * listening on 127.0.0.1 uses `localhost` (browsers treat http://localhost as a secure context). Refused at start-up:
 * an IP as RP id, an origin whose host is not the RP id or below it, and plain http anywhere but localhost.
 * @example parseWebAuthnConfig({ host: '127.0.0.1', port: 3000 }) // { rpId: 'localhost', origin: 'http://localhost:3000' }
 */
export function parseWebAuthnConfig(input: { host: string; port: number; rpId?: string | undefined; origin?: string | undefined }): { rpId: string; origin: string } {
  const listenHost = input.host.trim().toLowerCase();
  const hostIsName = listenHost !== '' && !isIpAddress(listenHost) && listenHost !== '0.0.0.0' && listenHost !== '::';
  const rpId = (input.rpId?.trim() || (hostIsName ? listenHost : 'localhost')).toLowerCase();
  if (isIpAddress(rpId)) {
    throw new ConfigError('CREW_RP_ID', `"${rpId}" is an IP address, which WebAuthn does not accept as a relying-party id; use a domain name such as crew.example.org (or localhost)`);
  }
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(rpId)) {
    throw new ConfigError('CREW_RP_ID', `"${rpId}" is not a domain name (no scheme, port or path: e.g. crew.example.org)`);
  }
  const originText = input.origin?.trim() || `http://${rpId}${input.port === 80 ? '' : `:${input.port}`}`;
  let url: URL;
  try {
    url = new URL(originText);
  } catch {
    throw new ConfigError('CREW_ORIGIN', `"${originText}" is not a URL such as https://crew.example.org`);
  }
  if (url.origin !== originText.replace(/\/$/, '')) throw new ConfigError('CREW_ORIGIN', `"${originText}" must be an origin only (scheme, host and port; no path): ${url.origin}`);
  if (url.hostname !== rpId && !url.hostname.endsWith(`.${rpId}`)) {
    throw new ConfigError('CREW_ORIGIN', `host "${url.hostname}" is not CREW_RP_ID "${rpId}" or a subdomain of it (WebAuthn §5.1.3)`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && url.hostname === 'localhost')) {
    throw new ConfigError('CREW_ORIGIN', `"${originText}" must use https (browsers allow passkeys over plain http only on localhost)`);
  }
  return { rpId, origin: url.origin };
}

/** Reads a .env file with Node's own parser (`util.parseEnv`: quotes, comments, `export`); {} when there is none. */
export function readDotEnv(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  return parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
}

/**
 * Whether terminal output may use colour: only on a TTY, and not when NO_COLOR is set (no-color.org) or TERM=dumb.
 * @example new Output({ json: false, colour: wantsColour(Boolean(process.stdout.isTTY)) })
 */
export function wantsColour(stdoutIsTty: boolean, env: Record<string, string | undefined> = process.env): boolean {
  return stdoutIsTty && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

/**
 * Builds the frozen Config from environment variables (and `.env` in cwd when present).
 * This is the only module that reads process.env.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): Config {
  const merged = { ...readDotEnv(resolve(cwd, '.env')), ...env };
  const get = (name: string, fallback: string) => {
    const v = merged[name];
    return v === undefined || v === '' ? fallback : v;
  };
  const database = parseDatabaseUrl(get('DATABASE_URL', 'production_crew.db'), cwd);
  const keys = merged.CREW_ENCRYPTION_KEY?.trim() || null;
  if (keys) {
    try {
      parseEncryptionKeys(keys);
    } catch (error) {
      throw new ConfigError('CREW_ENCRYPTION_KEY', (error as Error).message.replace(/^CREW_ENCRYPTION_KEY:?\s*/, ''));
    }
  }
  if (database.kind === 'postgres' && !keys) {
    throw new ConfigError('CREW_ENCRYPTION_KEY', 'is required with PostgreSQL (every instance must share it): set it to 32 random bytes in base64, e.g. `openssl rand -base64 32`');
  }
  const cookie = oneOf('CREW_COOKIE_SECURE', get('CREW_COOKIE_SECURE', 'auto'), ['auto', 'true', 'false'] as const);
  const issuer = get('CREW_ISSUER', 'Production Crew');
  if (issuer.includes(':')) throw new ConfigError('CREW_ISSUER', 'must not contain ":" (authenticator apps use it to separate issuer and account)');
  if (issuer.length > 64) throw new ConfigError('CREW_ISSUER', 'is longer than 64 characters');
  const port = integer('PORT', get('PORT', '3000'), 0, 65535);
  const host = get('HOST', '127.0.0.1');
  const config: Config = {
    database,
    port,
    host,
    encryptionKeys: keys,
    issuer,
    require2fa: oneOf('CREW_REQUIRE_2FA', get('CREW_REQUIRE_2FA', 'off'), ['off', 'admins', 'all'] as const),
    authRateLimit: parseRateLimit(get('CREW_AUTH_RATE_LIMIT', '30/minute')),
    registration: oneOf('CREW_REGISTRATION', get('CREW_REGISTRATION', 'open'), ['open', 'closed'] as const),
    cookieSecure: cookie === 'auto' ? 'auto' : cookie === 'true',
    trustProxy: oneOf('TRUST_PROXY', get('TRUST_PROXY', 'false'), ['true', 'false'] as const) === 'true',
    backupsToKeep: integer('CREW_BACKUPS_KEEP', get('CREW_BACKUPS_KEEP', '10'), 1, 1000),
    migrationsDir: merged.CREW_MIGRATIONS_DIR ? resolve(cwd, merged.CREW_MIGRATIONS_DIR) : null,
    logLevel: oneOf('LOG_LEVEL', get('LOG_LEVEL', 'info'), ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    ...parseWebAuthnConfig({ host, port, rpId: merged.CREW_RP_ID, origin: merged.CREW_ORIGIN }),
  };
  return Object.freeze(config);
}
