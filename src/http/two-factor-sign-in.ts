import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../lib/app-error.ts';
import { completeSecondFactorSignIn } from '../modules/sessions/second-factor-sign-in.ts';
import type { SecondFactorKind } from '../modules/two-factor/second-factor-result.ts';
import type { User } from '../modules/users/users.repository.ts';
import { clearSessionCookie, setSessionCookie } from './plugins/session-cookie.ts';
import { secondFactorFailureToAppError } from './second-factor-errors.ts';

/** A completed two-step sign-in: who, with what, and how many backup codes are left. */
export interface TwoFactorSignIn {
  user: User;
  method: SecondFactorKind;
  backupCodesRemaining: number;
}

/**
 * The HTTP side of the second sign-in step (JSON route and form): runs the module's pipeline for the request's pending
 * sign-in and maps its result — the new session into the cookie, or the refusal into an AppError: invalid_input (400),
 * invalid_code (401), too_many_attempts (429) or two_factor_pending_expired (401: the password must be entered again).
 * The cookie is cleared only when THIS request ended the pending sign-in (ASVS 3.2.1: never sign out a concurrent
 * request's new session).
 * @example const done = await completeTwoFactorSignIn(request, reply, request.body.code);
 */
export async function completeTwoFactorSignIn(request: FastifyRequest, reply: FastifyReply, code: unknown): Promise<TwoFactorSignIn> {
  const auth = request.auth;
  // The requireSession({ state: 'pending_two_factor' }) gate guarantees this; a misuse must not become a sign-in.
  if (!auth || auth.session.state !== 'pending_two_factor') throw new AppError('two_factor_pending_expired');
  const { deps, services } = request.server;
  const result = await completeSecondFactorSignIn({ ...deps, ...services }, auth.session, code, request.meta);
  if (result.ok) {
    setSessionCookie(request, reply, result.issued);
    return { user: auth.user, method: result.method, backupCodesRemaining: result.backupCodesRemaining };
  }
  if (result.pendingSignIn === 'ended') clearSessionCookie(request, reply);
  if (result.pendingSignIn !== 'kept') request.auth = null;
  throw secondFactorFailureToAppError(result);
}
