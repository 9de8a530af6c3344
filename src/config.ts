import { readFileSync, existsSync } from 'node:fs';
import { isIP, isIPv4, isIPv6 } from 'node:net';
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
  /** Which X-Forwarded-* senders to believe: false (none), a hop count, or proxy addresses/CIDRs (Fastify trustProxy forms). */
  trustProxy: TrustProxy;
  backupsToKeep: number;
  /** REDIS_URL: where per-IP rate limits are shared by every instance; null keeps them in each instance's memory. */
  redisUrl: string | null;
  /** CREW_REDIS_PREFIX: the prefix of crew's Redis keys (several deployments, or tests, can share one Redis). */
  redisKeyPrefix: string;
  /** The app's own migrations folder (CREW_MIGRATIONS_DIR); null means `./migrations` in the working folder. */
  migrationsDir: string | null;
  logLevel: string;
  /** LOG_FORMAT: `auto` (readable lines on a terminal, JSON otherwise), `json` or `pretty`. */
  logFormat: 'auto' | 'json' | 'pretty';
  /** WebAuthn relying-party id (CREW_RP_ID): a registrable domain or `localhost`, never an IP address. */
  rpId: string;
  /** The one origin passkey ceremonies must come from (CREW_ORIGIN), e.g. `https://crew.example.org`. */
  origin: string;
}

/** TRUST_PROXY parsed: `false`, a number of proxy hops in front of the app, or the proxies' addresses/CIDRs. */
export type TrustProxy = false | number | readonly string[];

/** proxy-addr's named ranges, which Fastify's trustProxy also accepts in a list. */
const NAMED_PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

/** The largest hop count TRUST_PROXY accepts; real deployments have one or two proxies. */
const MAX_PROXY_HOPS = 10;

/**
 * Parses TRUST_PROXY: `false` (or `0`), a hop count (`1`, `2`), or a comma-separated list of proxy addresses/CIDRs
 * (`10.0.0.1, 10.1.0.0/16, loopback`). `true` is refused: it trusts every hop, so the client's own left-most
 * X-Forwarded-For entry becomes its IP, which bypasses the per-IP limit and forges the IPs in security events
 * (OWASP ASVS 7.1.x/OWASP Logging Cheat Sheet; Fastify docs "trustProxy").
 * @example parseTrustProxy('1') // 1 — the right-most X-Forwarded-For address is the client
 */
export function parseTrustProxy(value: string): TrustProxy {
  const raw = value.trim().toLowerCase();
  if (raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true') {
    throw new ConfigError(
      'TRUST_PROXY',
      '"true" is refused: it trusts every X-Forwarded-For hop, so any client can choose its own IP (bypassing the per-IP ' +
        'rate limit and forging the IPs in security events). Write the number of proxies in front of crew (TRUST_PROXY=1 ' +
        'for one nginx or one load balancer, 2 for a load balancer in front of nginx), or their addresses, e.g. TRUST_PROXY=10.0.0.5,10.1.0.0/16',
    );
  }
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops > MAX_PROXY_HOPS) throw new ConfigError('TRUST_PROXY', `"${value}" hops is more than ${MAX_PROXY_HOPS}; write the number of proxies in front of crew`);
    return hops;
  }
  const entries = raw.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    if (!isProxyAddress(entry)) {
      throw new ConfigError('TRUST_PROXY', `"${entry}" is not an IP address, a CIDR (10.0.0.0/8) or one of ${NAMED_PROXY_RANGES.join(', ')}; use false, a hop count, or a comma-separated list`);
    }
  }
  return Object.freeze(entries);
}

function isProxyAddress(entry: string): boolean {
  if (NAMED_PROXY_RANGES.includes(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (version === 4 ? 32 : 128);
}

/** Checks REDIS_URL: `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS). */
export function parseRedisUrl(value: string): string {
  const raw = value.trim();
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    url = null;
  }
  if (!url || !/^rediss?:$/.test(url.protocol) || !url.hostname) {
    throw new ConfigError('REDIS_URL', 'is not a Redis URL (expected redis://host:6379 or rediss://host:6380 for TLS)');
  }
  return raw;
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
  const bare = host.replace(/^\[|\]$/g, '');
  // Same answer as isIP(bare) !== 0, but a name without ':' never reaches isIPv6, whose large pattern costs ~7 ms of
  // CPU to compile on first use, paid by every `crew` command at start-up (docs/PERFORMANCE.md, "CLI start-up").
  return isIPv4(bare) || (bare.includes(':') && isIPv6(bare));
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
    trustProxy: parseTrustProxy(get('TRUST_PROXY', 'false')),
    redisUrl: merged.REDIS_URL?.trim() ? parseRedisUrl(merged.REDIS_URL) : null,
    redisKeyPrefix: get('CREW_REDIS_PREFIX', 'crew:rate-limit:'),
    backupsToKeep: integer('CREW_BACKUPS_KEEP', get('CREW_BACKUPS_KEEP', '10'), 1, 1000),
    migrationsDir: merged.CREW_MIGRATIONS_DIR ? resolve(cwd, merged.CREW_MIGRATIONS_DIR) : null,
    logFormat: oneOf('LOG_FORMAT', get('LOG_FORMAT', 'auto'), ['auto', 'json', 'pretty'] as const),
    logLevel: oneOf('LOG_LEVEL', get('LOG_LEVEL', 'info'), ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    ...parseWebAuthnConfig({ host, port, rpId: merged.CREW_RP_ID, origin: merged.CREW_ORIGIN }),
  };
  return Object.freeze(config);
}
