/**
 * Threat: behind a load balancer, N instances each kept their own per-IP budget in memory, so a password or code
 * guesser got N × CREW_AUTH_RATE_LIMIT (issue 8, finding 6). Rule: with REDIS_URL every instance counts in Redis, one
 * budget per IP (OWASP ASVS 2.2.1). When Redis is unreachable each instance counts in memory and logs a warning; the
 * per-account lockouts in the database hold either way. Needs the Redis server at 127.0.0.1:6379 (.ci/run starts it).
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/http/logger.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { openSecondInstance } from '../helpers/two-factor-fixtures.ts';
import { createTestApp, type TestApp } from './app-harness.ts';

const REDIS_URL = process.env.CREW_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function wrongLogin(app: FastifyInstance, ip: string): Promise<number> {
  const res = await app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: ip, payload: { username: 'nobody', password: 'not the password' } });
  return res.statusCode;
}

describe.each(TEST_DIALECTS)('per-IP limits shared through Redis on %s', (kind) => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  async function twoInstances(env: Record<string, string>): Promise<[FastifyInstance, FastifyInstance]> {
    const t: TestApp = await createTestApp(kind, { CREW_AUTH_RATE_LIMIT: '4/minute', ...env });
    closers.push(() => t.close());
    const second = await openSecondInstance(t);
    closers.push(() => second.close());
    return [t.app, second.app];
  }

  it('two instances with REDIS_URL share one per-IP budget; another IP has its own', async () => {
    // A unique key prefix per test, so runs (and other tests) on the same Redis never share counters.
    const [a, b] = await twoInstances({ REDIS_URL, CREW_REDIS_PREFIX: `crew-test:${randomBytes(6).toString('hex')}:` });
    const statuses = [await wrongLogin(a, '198.51.100.1'), await wrongLogin(b, '198.51.100.1'), await wrongLogin(a, '198.51.100.1'), await wrongLogin(b, '198.51.100.1')];
    expect(statuses).toEqual([401, 401, 401, 401]);
    expect(await wrongLogin(a, '198.51.100.1')).toBe(429);
    expect(await wrongLogin(b, '198.51.100.1')).toBe(429);
    expect(await wrongLogin(b, '198.51.100.2')).toBe(401);
  });

  it('without REDIS_URL each instance has its own budget (the multiplied limit the shared store removes)', async () => {
    const [a, b] = await twoInstances({});
    for (let i = 0; i < 4; i++) expect(await wrongLogin(a, '198.51.100.3')).toBe(401);
    expect(await wrongLogin(a, '198.51.100.3')).toBe(429);
    expect(await wrongLogin(b, '198.51.100.3')).toBe(401);
  });

  it('Redis unreachable: the app starts, warns, and still limits per instance in memory', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    // Port 9 (discard) has no Redis: connecting is refused at once.
    const t = await createTestApp(kind, { CREW_AUTH_RATE_LIMIT: '4/minute', REDIS_URL: 'redis://127.0.0.1:9' }, createLogger({ logLevel: 'warn' }, sink));
    closers.push(() => t.close());
    for (let i = 0; i < 4; i++) expect(await wrongLogin(t.app, '198.51.100.4')).toBe(401);
    expect(await wrongLogin(t.app, '198.51.100.4')).toBe(429);
    const warnings = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40);
    expect(warnings.some((w) => w.msg.includes('(REDIS_URL) is not answering: per-IP rate limits count in this instance\'s memory'))).toBe(true);
  });
});

describe('shared store when Redis goes away and comes back', () => {
  it('counts in memory while Redis is down (one warning), then in Redis again', async () => {
    const { Redis } = await import('ioredis');
    const { REDIS_CLIENT_OPTIONS, sharedRateLimitStore } = await import('../../src/http/shared-rate-limit-store.ts');
    const redis = new Redis(REDIS_URL, REDIS_CLIENT_OPTIONS);
    redis.on('error', () => {});
    await new Promise((resolve) => redis.once('ready', resolve));
    const events: string[] = [];
    const prefix = `crew-test:${randomBytes(6).toString('hex')}:`;
    const Store = sharedRateLimitStore(redis, prefix, { onDown: () => events.push('down'), onUp: () => events.push('up') });
    const store = new Store({} as never);
    const incr = () => new Promise<number>((resolve, reject) => store.incr('ip', (e, r) => (e ? reject(e) : resolve(r!.current)), 60_000, 10));
    try {
      expect(await incr()).toBe(1);
      expect(await redis.get(`${prefix}ip`)).toBe('1');
      const ended = new Promise((resolve) => redis.once('end', resolve));
      redis.disconnect(); // Redis "goes away"
      await ended;
      expect(await incr()).toBe(1); // memory has its own count
      expect(await incr()).toBe(2);
      expect(events).toEqual(['down']);
      await redis.connect();
      expect(await incr()).toBe(2); // Redis again
      expect(events).toEqual(['down', 'up']);
    } finally {
      await redis.del(`${prefix}ip`).catch(() => {});
      redis.disconnect();
    }
  });
});
