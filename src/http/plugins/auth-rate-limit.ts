import type { FastifyContextConfig } from 'fastify';
import type { Config } from '../../config.ts';

/**
 * Route `config` that applies CREW_AUTH_RATE_LIMIT per client IP (OWASP ASVS 2.2.1) to sign-in, registration and
 * 2FA routes; the per-account lockout is separate.
 * @example app.post('/api/auth/login', { config: authRateLimit(app.deps.config) }, handler)
 */
export function authRateLimit(config: Pick<Config, 'authRateLimit'>, extra: FastifyContextConfig = {}): FastifyContextConfig {
  return { ...extra, rateLimit: { max: config.authRateLimit.max, timeWindow: config.authRateLimit.timeWindowMs } };
}
