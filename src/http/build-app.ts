import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { AppError } from '../lib/app-error.ts';
import './fastify-types.ts';
import { createLogger, lazyRequestLoggerFactory } from './logger.ts';
import { authRateLimitPlugin } from './plugins/auth-rate-limit.ts';
import { verifyCsrf } from './plugins/csrf.ts';
import { errorHandler } from './plugins/error-handler.ts';
import { jsonApi } from './plugins/json-only.ts';
import { requireSession } from './plugins/require-session.ts';
import { securityHeaders } from './plugins/security-headers.ts';
import { sessionLoader } from './plugins/session-loader.ts';
import { views } from './plugins/views.ts';
import { accountApiRoutes } from './routes/account-api.ts';
import { accountSecurityApiRoutes } from './routes/account-security-api.ts';
import { accountSecurityPageRoutes } from './routes/account-security-pages.ts';
import { authApiRoutes } from './routes/auth-api.ts';
import { authPageRoutes } from './routes/auth-pages.ts';
import { homePageRoutes, securityPageRoutes } from './routes/account-pages.ts';
import { passkeyPageRoutes, rememberedDevicePageRoutes } from './routes/passkey-pages.ts';
import { passkeyManagementApiRoutes, passkeySecondFactorApiRoutes, passkeySignInApiRoutes, rememberedDeviceApiRoutes } from './routes/passkey-api.ts';
import { twoFactorSignInApiRoutes } from './routes/sign-in-api.ts';
import { twoFactorSignInPageRoutes } from './routes/sign-in-pages.ts';
import { twoFactorManagementApiRoutes } from './routes/two-factor-manage-api.ts';
import { twoFactorManagementPageRoutes } from './routes/two-factor-manage-pages.ts';
import { healthRoutes } from './routes/health-routes.ts';
import { staticRoutes } from './routes/static-routes.ts';
import { createServices } from './services.ts';
import { trustProxyOption } from './trust-proxy.ts';
import { redisRateLimitStore } from './redis-rate-limit.ts';

/** Largest request body accepted (bytes); larger ones get 413 before they are read. */
export const BODY_LIMIT_BYTES = 16 * 1024;

/** Options of {@link buildApp} that are not dependencies. */
export interface BuildAppOptions {
  /** Called for every route as it is registered (tests use it to walk every route through the auth gates). */
  onRoute?: (route: RouteOptions) => void;
}

/**
 * Builds the Fastify app (never listens): plugins, then route groups, each group an encapsulated context whose
 * hooks are its gates (requireSession, JSON-only, CSRF). To add routes, register them in the fitting group below.
 * @example const app = await buildApp(deps); const res = await app.inject({ method: 'GET', url: '/healthz' });
 */
export async function buildApp(deps: AppDeps, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const logging =
    deps.logger === false ? { logger: false as const } : { loggerInstance: deps.logger ?? createLogger(deps.config), childLoggerFactory: lazyRequestLoggerFactory };
  const app = Fastify({
    ...logging,
    bodyLimit: BODY_LIMIT_BYTES,
    // request.ip is the right-most X-Forwarded-For address not added by a trusted proxy (never `true`: config refuses it).
    trustProxy: trustProxyOption(deps.config.trustProxy),
    return503OnClosing: true,
    // No type coercion: `{"code": 123456}` is a wrong type (400), not silently a string.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: true } },
  });
  if (options.onRoute) app.addHook('onRoute', options.onRoute);
  app.decorate('deps', deps);
  app.decorate('services', createServices(deps));

  await app.register(cookie);
  await app.register(errorHandler);
  await app.register(securityHeaders);
  // With REDIS_URL every instance shares one per-IP budget (falling back to memory while Redis is down).
  const shared = deps.config.redisUrl ? await redisRateLimitStore(app.log, deps.config.redisUrl, deps.config.redisKeyPrefix) : null;
  if (shared) app.addHook('onClose', async () => shared.close());
  await app.register(rateLimit, {
    global: false,
    ...(shared ? { store: shared.store } : {}),
    errorResponseBuilder: (_request, context) => new AppError('too_many_attempts', undefined, { retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)) }),
  });
  await app.register(authRateLimitPlugin, { config: deps.config }); // one per-IP budget for every sign-in and 2FA route
  await app.register(sessionLoader);
  await app.register(views);
  await app.register(healthRoutes);
  await app.register(staticRoutes);

  // JSON API: bodies must be application/json (415), answers are JSON with the contract's error shape.
  await app.register(
    async (api) => {
      // JSON bodies only (415), and answers never cached: they may carry secrets (set-up, backup codes; OWASP ASVS 8.2.1).
      api.addHook('onRequest', jsonApi);
      await api.register(authApiRoutes); // public: register, login, logout
      await api.register(passkeySignInApiRoutes); // public: /auth/passkey/options, /auth/passkey (passwordless)
      await api.register(async (signedIn) => {
        signedIn.addHook('onRequest', requireSession({ allowWithoutTwoFactor: true }));
        await signedIn.register(accountApiRoutes); // /me, /2fa/status, /2fa/setup, /2fa/enable
        await signedIn.register(passkeyManagementApiRoutes); // /passkeys… (adding one is a way to enrol)
        await signedIn.register(rememberedDeviceApiRoutes); // /remembered-devices
      });
      // The second sign-in step: only a pending two-factor session gets in; it grants nothing else (NIST SP 800-63B §4.2: AAL2 needs both factors).
      await api.register(async (pending) => {
        pending.addHook('onRequest', requireSession({ state: 'pending_two_factor' }));
        await pending.register(twoFactorSignInApiRoutes); // /auth/login/two-factor
        await pending.register(passkeySecondFactorApiRoutes); // /auth/login/two-factor/passkey…
      });
      await api.register(async (full) => {
        full.addHook('onRequest', requireSession());
        await full.register(twoFactorManagementApiRoutes); // /2fa/backup-codes/regenerate, /2fa/disable
        await full.register(accountSecurityApiRoutes); // /account/password, /sessions, /sessions/:id, /sessions/revoke-others
      });
    },
    { prefix: '/api' },
  );

  // HTML pages: urlencoded forms only here, every POST checked for its CSRF token.
  await app.register(async (pages) => {
    await pages.register(formbody, { bodyLimit: BODY_LIMIT_BYTES });
    pages.addHook('preValidation', verifyCsrf);
    await pages.register(authPageRoutes); // /login, /register, /logout
    await pages.register(async (pending) => {
      pending.addHook('onRequest', requireSession({ state: 'pending_two_factor' }));
      await pending.register(twoFactorSignInPageRoutes); // /login/two-factor
    });
    await pages.register(async (full) => {
      full.addHook('onRequest', requireSession());
      await full.register(homePageRoutes); // /
      await full.register(twoFactorManagementPageRoutes); // regenerate backup codes, disable 2FA (forms on /settings/security)
      await full.register(accountSecurityPageRoutes); // change password, end sessions (forms on /settings/security)
    });
    await pages.register(async (enrol) => {
      enrol.addHook('onRequest', requireSession({ allowWithoutTwoFactor: true }));
      await enrol.register(securityPageRoutes); // /settings/security and the enrolment flow
      await enrol.register(passkeyPageRoutes); // rename / remove a passkey (forms on /settings/security)
      await enrol.register(rememberedDevicePageRoutes); // forget one or all remembered devices
    });
  });

  return app as unknown as FastifyInstance;
}
