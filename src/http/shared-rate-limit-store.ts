import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import LocalStore from '@fastify/rate-limit/store/LocalStore.js';
import RedisStore from '@fastify/rate-limit/store/RedisStore.js';
import type { Redis } from 'ioredis';

type IncrCallback = Parameters<FastifyRateLimitStore['incr']>[1];

/** The limiter parameters a store is made with (the rest it ignores). */
interface StoreParams {
  continueExceeding?: boolean;
  exponentialBackoff?: boolean;
}

/** What the store tells the app about Redis going away and coming back (logged as a warning / info). */
export interface RedisHealthListener {
  onDown(error: unknown): void;
  onUp(): void;
}

/** How long a rate-limit command may wait for Redis before the request is counted in memory instead (ms). */
export const REDIS_COMMAND_TIMEOUT_MS = 500;

/**
 * Options for the ioredis client behind the shared limits: fail fast instead of queueing while Redis is away (a sign-in
 * must not hang on a rate-limit counter), keep reconnecting in the background.
 */
export const REDIS_CLIENT_OPTIONS = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
  connectTimeout: 2000,
  lazyConnect: false,
} as const;

/**
 * A @fastify/rate-limit store class that keeps per-IP counters in Redis, so every instance shares ONE budget (OWASP
 * ASVS 2.2.1: a limit N instances multiply is not a limit), and falls back to this instance's memory while Redis is
 * unreachable. The fallback is a deliberate choice: failing closed would turn a Redis outage into nobody signing in,
 * failing open (`skipOnError`) would drop the limit; in memory each instance still enforces the limit, and the
 * per-account lockouts in the database hold regardless. `onDown`/`onUp` are called once per transition.
 * @example await app.register(rateLimit, { global: false, store: sharedRateLimitStore(redis, 'crew:rl:', listener) })
 */
export function sharedRateLimitStore(redis: Redis, keyPrefix: string, health: RedisHealthListener): FastifyRateLimitStoreCtor {
  let redisUp = true;
  const down = (error: unknown) => {
    if (redisUp) health.onDown(error);
    redisUp = false;
  };
  const up = () => {
    if (!redisUp) health.onUp();
    redisUp = true;
  };

  class SharedStore implements FastifyRateLimitStore {
    readonly #redis: FastifyRateLimitStore;
    readonly #local: FastifyRateLimitStore;
    constructor(options: StoreParams) {
      const continueExceeding = options.continueExceeding ?? false;
      const exponentialBackoff = options.exponentialBackoff ?? false;
      this.#redis = new RedisStore(continueExceeding, exponentialBackoff, redis, keyPrefix);
      this.#local = new LocalStore(continueExceeding, exponentialBackoff);
    }

    incr(key: string, callback: IncrCallback, timeWindow: number, max: number): void {
      if (redis.status !== 'ready') {
        down(new Error(`Redis connection is ${redis.status}`));
        this.#local.incr(key, callback, timeWindow, max);
        return;
      }
      this.#redis.incr(
        key,
        (error, result) => {
          if (error || !result) {
            down(error);
            this.#local.incr(key, callback, timeWindow, max);
            return;
          }
          up();
          callback(null, result);
        },
        timeWindow,
        max,
      );
    }

    // The route's method and URL are not part of the key: crew has ONE per-IP budget for every sign-in route.
    child(routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
      return new SharedStore(routeOptions as unknown as StoreParams);
    }
  }
  return SharedStore as unknown as FastifyRateLimitStoreCtor;
}
