import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { statusOf } from '../../modules/two-factor/two-factor-status.ts';
import { SESSION_COOKIE, clearSessionCookie } from './session-cookie.ts';

/**
 * Loads `request.auth` (session, user, the 2FA status summary) from the session cookie on every request except static
 * files and /healthz; a cookie that names no live session is cleared (except on routes with `keepUnknownSessionCookie`).
 */
export const sessionLoader = fp(
  async (app: FastifyInstance) => {
    app.decorateRequest('auth', null);
    app.decorateRequest('meta', {
      getter() {
        const ua = this.headers['user-agent'];
        return { ip: this.ip ?? null, userAgent: typeof ua === 'string' ? ua.slice(0, 300) : null };
      },
    });
    app.addHook('onRequest', async (request, reply) => {
      request.auth = null;
      if (request.url.startsWith('/static/') || request.url === '/healthz') return;
      const token = request.cookies[SESSION_COOKIE];
      if (token === undefined) return;
      // One query: the session, its user and the user's 2FA row (a join), so a signed-in request reads the database once.
      const context = await app.services.sessions.findContextByToken(token);
      if (!context) {
        // On the code step an unknown token is usually a pending sign-in that a parallel request just upgraded; clearing
        // the cookie in this answer would sign the browser out of the new session it received (OWASP ASVS 3.2.1).
        if (!request.routeOptions.config?.keepUnknownSessionCookie) clearSessionCookie(request, reply);
        return;
      }
      const { session, user, twoFactor } = context;
      request.auth = { session, user, twoFactor: statusOf(twoFactor, app.deps.clock.now().getTime()) };
    });
  },
  { name: 'crew-session-loader', dependencies: ['@fastify/cookie'] },
);
