import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyBaseLogger } from 'fastify';
import { REDIS_CLIENT_OPTIONS, sharedRateLimitStore } from './shared-rate-limit-store.ts';

/** How long start-up waits for a first Redis connection before serving with in-memory limits (ms). */
const REDIS_FIRST_CONNECT_WAIT_MS = 2000;

/**
 * Connects to REDIS_URL (ioredis, loaded only when configured) and returns the shared per-IP rate-limit store; the
 * caller closes it with the app (`close`). Redis being down at start-up or later is logged (a warning when it goes, info when
 * it is back), never fatal: limits then count in this instance's memory, see sharedRateLimitStore.
 * @example const shared = await redisRateLimitStore(app.log, config.redisUrl, config.redisKeyPrefix); app.addHook('onClose', async () => shared.close());
 */
export async function redisRateLimitStore(log: FastifyBaseLogger, url: string, keyPrefix: string): Promise<{ store: FastifyRateLimitStoreCtor; close(): void }> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, REDIS_CLIENT_OPTIONS);
  // ioredis emits 'error' on every failed reconnect; the store reports the outage once, so these are not logged each time.
  redis.on('error', () => {});
  const connected = await Promise.race([
    new Promise<true>((resolve) => redis.once('ready', () => resolve(true))), // not events.once: it rejects on the first 'error'
    new Promise<false>((resolve) => setTimeout(resolve, REDIS_FIRST_CONNECT_WAIT_MS, false).unref()),
  ]);
  const where = new URL(url).host;
  if (!connected) log.warn(`Redis at ${where} (REDIS_URL) is not answering: per-IP rate limits count in this instance's memory until it is; account lockouts in the database still hold`);
  const store = sharedRateLimitStore(redis, keyPrefix, {
    onDown: (error) =>
      log.warn({ err: error }, `Redis at ${where} (REDIS_URL) is unreachable: per-IP rate limits count in this instance's memory until it is back; account lockouts in the database still hold`),
    onUp: () => log.info(`Redis at ${where} is back: per-IP rate limits are shared by every instance again`),
  });
  return { store, close: () => redis.disconnect() };
}
