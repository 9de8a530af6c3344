import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { loadConfig, type Config } from '../../src/config.ts';
import { createDeps, type AppDeps } from '../../src/deps.ts';
import { buildApp, type BuildAppOptions } from '../../src/http/build-app.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { createMigratedDatabase, type TestDatabase } from '../helpers/test-database.ts';
import type { OpenDatabase } from '../../src/db/open-database.ts';

/** A built app on a fresh migrated database, with a hand-moved clock. */
export interface TestApp {
  app: FastifyInstance;
  deps: AppDeps;
  clock: ManualClock;
  database: TestDatabase & { open: OpenDatabase };
  close(): Promise<void>;
}

/**
 * Builds the app on a fresh database of `kind`. SQLite uses the generated key file; PostgreSQL a random
 * CREW_ENCRYPTION_KEY. `env` adds environment variables (e.g. CREW_REQUIRE_2FA); `extend` registers extra test routes;
 * `buildOptions` reaches buildApp (e.g. an onRoute listener).
 */
export async function createTestApp(
  kind: 'sqlite' | 'postgres',
  env: Record<string, string> = {},
  logger: AppDeps['logger'] = false,
  extend?: (app: FastifyInstance) => Promise<void>,
  buildOptions: BuildAppOptions = {},
): Promise<TestApp> {
  const database = await createMigratedDatabase(kind);
  const base: Record<string, string> = { DATABASE_URL: database.url, CREW_AUTH_RATE_LIMIT: '1000/minute', ...env };
  if (kind === 'postgres' && !base.CREW_ENCRYPTION_KEY) base.CREW_ENCRYPTION_KEY = randomBytes(32).toString('base64');
  const config: Config = loadConfig(base, database.dir);
  const clock = new ManualClock(new Date());
  const deps = createDeps(config, database.open, { clock, logger });
  const app = await buildApp(deps, buildOptions);
  if (extend) await extend(app);
  await app.ready();
  return {
    app,
    deps,
    clock,
    database,
    close: async () => {
      await app.close();
      await database.cleanup();
    },
  };
}

/** A browser-like client: keeps the cookies the app sets and sends them back. */
export class TestClient {
  readonly cookies = new Map<string, string>();
  constructor(readonly app: FastifyInstance) {}

  /** Sends a request with the stored cookies and stores the cookies of the answer. */
  async request(options: InjectOptions): Promise<LightMyRequestResponse> {
    const cookieHeader = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const headers = { ...(options.headers ?? {}), ...(cookieHeader ? { cookie: cookieHeader } : {}) };
    const res = await this.app.inject({ ...options, headers });
    for (const c of res.cookies as Array<{ name: string; value: string; expires?: Date; maxAge?: number }>) {
      const expired = c.value === '' || (c.expires !== undefined && c.expires.getTime() <= Date.now()) || c.maxAge === 0;
      if (expired) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    return res;
  }

  /** POSTs JSON to the API. */
  json(method: 'GET' | 'POST', url: string, body?: unknown): Promise<LightMyRequestResponse> {
    return this.request(body === undefined ? { method, url } : { method, url, payload: body as object, headers: { 'content-type': 'application/json' } });
  }

  /** GETs a page and returns it with the CSRF token of its first form. */
  async page(url: string): Promise<{ res: LightMyRequestResponse; csrf: string }> {
    const res = await this.request({ method: 'GET', url });
    return { res, csrf: csrfOf(res.body) };
  }

  /** POSTs an urlencoded form. */
  form(url: string, fields: Record<string, string>): Promise<LightMyRequestResponse> {
    return this.request({ method: 'POST', url, payload: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  }
}

/** The value of the first `_csrf` hidden field of a page ('' if none). */
export function csrfOf(html: string): string {
  return /name="_csrf" value="([^"]*)"/.exec(html)?.[1] ?? '';
}

/** A password that passes the policy. */
export const GOOD_PASSWORD = 'correct horse battery staple';
