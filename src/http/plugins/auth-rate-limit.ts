import type { FastifyContextConfig, FastifyInstance, onRequestHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../../config.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Counts the route against the ONE per-IP CREW_AUTH_RATE_LIMIT budget shared by every sign-in and 2FA route. */
    authRateLimit?: boolean;
  }
}

/**
 * Route `config` that puts a sign-in, registration or 2FA route under CREW_AUTH_RATE_LIMIT; `extra` adds other config.
 * @example app.post('/api/auth/login', { config: authRateLimit() }, handler)
 */
export function authRateLimit(extra: FastifyContextConfig = {}): FastifyContextConfig {
  return { ...extra, authRateLimit: true };
}

/**
 * Applies CREW_AUTH_RATE_LIMIT per client IP (OWASP ASVS 2.2.1) with ONE counter shared by every route marked with
 * {@link authRateLimit}, as a route onRequest hook that answers 429 before any body is read or code checked.
 */
export const authRateLimitPlugin = fp(
  async (app: FastifyInstance, options: { config: Pick<Config, 'authRateLimit'> }) => {
    // @fastify/rate-limit gives each route with `config.rateLimit` its own store (`groupId` only changes the key inside
    // it), so API and form variants would each get a full budget; one limiter, hooked onto each route, cannot.
    // Registered after @fastify/rate-limit and before the routes; the per-account lockout is separate.
    const { max, timeWindowMs } = options.config.authRateLimit;
    const limiter = app.rateLimit({ max, timeWindow: timeWindowMs }) as unknown as onRequestHookHandler;
    app.addHook('onRoute', (route) => {
      if (route.config?.authRateLimit !== true) return;
      const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
      route.onRequest = [...existing, limiter];
    });
  },
  { name: 'crew-auth-rate-limit', dependencies: ['@fastify/rate-limit'] },
);
