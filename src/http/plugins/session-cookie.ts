import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.ts';
import { SESSION_ABSOLUTE_TIMEOUT_MS, type IssuedSession } from '../../modules/sessions/session.service.ts';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'crew_session';

/**
 * Whether cookies get the Secure flag: CREW_COOKIE_SECURE=true/false, or with `auto` when the request arrived over
 * HTTPS (request.protocol honours X-Forwarded-Proto only with TRUST_PROXY) (OWASP ASVS 3.4.1).
 */
export function cookieIsSecure(config: Pick<Config, 'cookieSecure'>, request: FastifyRequest): boolean {
  return config.cookieSecure === 'auto' ? request.protocol === 'https' : config.cookieSecure;
}

/** Puts a newly issued session token into the HttpOnly, SameSite=Lax cookie (OWASP ASVS 3.4.2, 3.4.3). */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, issued: IssuedSession): void {
  const { session } = issued;
  const lifetimeMs = session.state === 'authenticated' ? session.createdAt.getTime() + SESSION_ABSOLUTE_TIMEOUT_MS : session.expiresAt.getTime();
  const maxAgeSeconds = Math.max(1, Math.floor((lifetimeMs - session.createdAt.getTime()) / 1000));
  reply.setCookie(SESSION_COOKIE, issued.token, {
    httpOnly: true,
    sameSite: 'lax',
    secure: cookieIsSecure(request.server.deps.config, request),
    path: '/',
    maxAge: maxAgeSeconds,
  });
  // The request continues as the new session (e.g. a page rendered in the same response uses its CSRF token).
  if (request.auth && request.auth.user.id === session.userId) request.auth = { ...request.auth, session };
}

/** Removes the session cookie from the browser. */
export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'lax', secure: cookieIsSecure(request.server.deps.config, request), path: '/' });
}
