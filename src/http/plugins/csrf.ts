import { createHmac } from 'node:crypto';
import type { FastifyReply, FastifyRequest, preValidationHookHandler } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import { constantTimeEqual } from '../../lib/constant-time-equal.ts';
import { generateToken, isTokenShaped } from '../../modules/sessions/session-token.ts';
import { cookieIsSecure } from './session-cookie.ts';

/** Name of the pre-sign-in CSRF cookie (signed double-submit, OWASP CSRF Prevention Cheat Sheet). */
export const CSRF_COOKIE = 'crew_csrf';
/** Name of the hidden form field that carries the CSRF token. */
export const CSRF_FIELD = '_csrf';

function sign(key: Buffer, nonce: string): string {
  return createHmac('sha256', key).update(`crew-anon-csrf:${nonce}`).digest('base64url');
}

/**
 * Returns the CSRF token for the form a route renders: the session row's synchronizer token (`csrf_token`) for
 * signed-in forms, or, for /login and /register, HMAC(key, nonce) where the random nonce sits in an HttpOnly
 * SameSite=Lax cookie ("signed double-submit cookie"); sets that cookie when missing.
 */
export function csrfTokenFor(request: FastifyRequest, reply: FastifyReply): string {
  const mode = request.routeOptions.config.csrf ?? 'session';
  if (mode === 'session') return request.auth?.session.csrfToken ?? '';
  let nonce = request.cookies[CSRF_COOKIE];
  if (!isTokenShaped(nonce)) {
    nonce = generateToken(request.server.deps.random);
    request.cookies[CSRF_COOKIE] = nonce;
    reply.setCookie(CSRF_COOKIE, nonce, {
      httpOnly: true,
      sameSite: 'lax',
      secure: cookieIsSecure(request.server.deps.config, request),
      path: '/',
    });
  }
  return sign(request.server.deps.csrfKey, nonce);
}

/** A preValidation hook that refuses (403 csrf_invalid) a form POST whose `_csrf` field does not match (OWASP ASVS 4.2.2). */
export const verifyCsrf: preValidationHookHandler = async (request) => {
  if (request.method === 'GET' || request.method === 'HEAD') return;
  const { body } = request;
  const field = typeof body === 'object' && body !== null && CSRF_FIELD in body ? body[CSRF_FIELD] : undefined;
  const submitted = typeof field === 'string' ? field : '';
  const mode = request.routeOptions.config.csrf ?? 'session';
  if (mode === 'session') {
    if (!request.auth) throw new AppError('not_authenticated');
    if (!constantTimeEqual(submitted, request.auth.session.csrfToken)) throw new AppError('csrf_invalid');
    return;
  }
  const nonce = request.cookies[CSRF_COOKIE];
  if (!isTokenShaped(nonce) || !constantTimeEqual(submitted, sign(request.server.deps.csrfKey, nonce))) {
    throw new AppError('csrf_invalid');
  }
};
