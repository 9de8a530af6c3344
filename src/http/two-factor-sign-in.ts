import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../lib/app-error.ts';
import { MAX_CODE_ATTEMPTS_PER_PENDING_SIGN_IN } from '../modules/two-factor/account-lockout.ts';
import { classifySecondFactorInput, secondFactorFailureToAppError, verifySecondFactor } from '../modules/two-factor/sign-in-verifier.ts';
import type { User } from '../modules/users/users.repository.ts';
import { clearSessionCookie, setSessionCookie } from './plugins/session-cookie.ts';

/** A completed two-step sign-in: who, with what, and how many backup codes are left. */
export interface TwoFactorSignIn {
  user: User;
  method: 'totp' | 'backup_code';
  backupCodesRemaining: number;
}

/**
 * Ends a pending sign-in (row and cookie): the password must be entered again. The cookie is cleared only when this
 * request deleted the row: if a concurrent request on the same sign-in already upgraded (or ended) it, the browser may
 * by now hold that request's NEW session cookie, which a clearing Set-Cookie in this answer would sign out.
 */
async function abandonPendingSignIn(request: FastifyRequest, reply: FastifyReply, sessionId: string): Promise<void> {
  if (await request.server.services.sessions.destroySession(sessionId)) clearSessionCookie(request, reply);
  request.auth = null;
}

/**
 * Checks a TOTP or backup code for the request's pending sign-in and, if right, upgrades it to a full session under a NEW
 * token (OWASP ASVS 3.2.1); used by both the JSON route and the form.
 * Throws AppError invalid_input (400), invalid_code (401), too_many_attempts (429) or two_factor_pending_expired (401:
 * the pending sign-in is gone after MAX_CODE_ATTEMPTS_PER_PENDING_SIGN_IN codes, or 2FA was turned off meanwhile).
 * @example const done = await completeTwoFactorSignIn(request, reply, body.code); // the cookie now holds the full session
 */
export async function completeTwoFactorSignIn(request: FastifyRequest, reply: FastifyReply, code: unknown): Promise<TwoFactorSignIn> {
  const auth = request.auth;
  // The requireSession({ state: 'pending_two_factor' }) gate guarantees this; a misuse must not become a sign-in.
  if (!auth || auth.session.state !== 'pending_two_factor') throw new AppError('two_factor_pending_expired');
  const { deps, services } = request.server;

  // Malformed input can never match, so it is refused before it takes one of the sign-in's attempts (OWASP ASVS 5.1.3).
  if (classifySecondFactorInput(code).kind === 'malformed') {
    throw secondFactorFailureToAppError({ ok: false, reason: 'malformed', counted: false });
  }
  // Take one of this pending sign-in's attempts BEFORE verifying (the reservation idea of the account lockout, R5):
  // parallel requests on one pending session can never get more than MAX_CODE_ATTEMPTS_PER_PENDING_SIGN_IN codes checked.
  const attempt = await services.sessions.recordTwoFactorFailure(auth.session.id);
  if (attempt === Number.POSITIVE_INFINITY) {
    // The pending row is gone: a concurrent request on this sign-in upgraded or ended it. Answer 401 and leave the
    // cookie alone, since it may now hold the winner's new session (OWASP ASVS 3.2.1 rotation must not sign it out).
    request.auth = null;
    throw new AppError('two_factor_pending_expired');
  }
  if (attempt > MAX_CODE_ATTEMPTS_PER_PENDING_SIGN_IN) {
    await abandonPendingSignIn(request, reply, auth.session.id);
    throw new AppError('two_factor_pending_expired');
  }

  const result = await verifySecondFactor(deps, auth.user.id, code, request.meta);
  if (result.ok) {
    setSessionCookie(request, reply, await services.sessions.upgradeSession(auth.session, request.meta));
    return { user: auth.user, method: result.method, backupCodesRemaining: result.backupCodesRemaining };
  }
  if (result.reason === 'not_enabled') {
    // 2FA was turned off (or reset by an operator) after the password step: start again with the password.
    await abandonPendingSignIn(request, reply, auth.session.id);
    throw new AppError('two_factor_pending_expired');
  }
  if (attempt >= MAX_CODE_ATTEMPTS_PER_PENDING_SIGN_IN) {
    // The last attempt of this pending sign-in failed: back to the password. A lockout still answers 429 with its wait.
    await abandonPendingSignIn(request, reply, auth.session.id);
    if (result.reason !== 'locked') throw new AppError('two_factor_pending_expired');
  }
  throw secondFactorFailureToAppError(result);
}
