// A small JSON client over an undici connection pool (the benchmark's "20 in flight"), with a cookie jar per
// simulated browser. undici, autocannon and otpauth come from bench/peers/better-auth's own lock file.
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** bench/peers/better-auth: the peer's package, which also pins the benchmark's client libraries. */
export const PEER_DIR = join(import.meta.dirname, 'better-auth');

/** Loads a package installed in bench/peers/better-auth/node_modules (not a crew dependency). */
export const peerRequire = createRequire(join(PEER_DIR, 'package.json'));

/** The part of undici's Pool the benchmark uses. */
export interface UndiciPool {
  request(options: { method: string; path: string; headers: Record<string, string>; body?: string }): Promise<{
    statusCode: number;
    headers: Record<string, string | string[] | undefined>;
    body: { text(): Promise<string> };
  }>;
  close(): Promise<void>;
}

/** Opens an undici pool of `connections` keep-alive connections to `origin`. */
export function openPool(origin: string, connections: number): UndiciPool {
  const { Pool } = peerRequire('undici') as { Pool: new (origin: string, options: object) => UndiciPool };
  return new Pool(origin, { connections, pipelining: 1 });
}

/** One simulated browser: the cookies its server set, sent back on every request. */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  /** The Cookie header to send, or '' when there are none. */
  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  /** Takes in Set-Cookie headers: a cookie with an empty value or Max-Age=0 is removed. */
  store(setCookie: string | string[] | undefined): void {
    for (const line of typeof setCookie === 'string' ? [setCookie] : (setCookie ?? [])) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a) || /^\s*expires\s*=\s*thu, 01 jan 1970/i.test(a));
      if (value === '' || expired) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
}

/** The answer to a JSON request. */
export interface JsonAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** POSTs `body` as JSON with the jar's cookies (and any extra headers), stores the cookies set, parses the answer. */
export async function postJson(pool: UndiciPool, path: string, body: unknown, jar: CookieJar, headers: Record<string, string> = {}): Promise<JsonAnswer> {
  const cookie = jar.header();
  const response = await pool.request({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}), ...headers },
    body: JSON.stringify(body),
  });
  jar.store(response.headers['set-cookie']);
  const text = await response.body.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = { text };
  }
  return { status: response.statusCode, body: parsed };
}

/** Runs `task(i)` for i = 0..count-1 with at most `inFlight` running at once; resolves with the results in order. */
export async function runLimited<T>(count: number, inFlight: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
  return results;
}
