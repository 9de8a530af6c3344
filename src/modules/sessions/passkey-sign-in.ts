import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { AppDb } from '../../db/database.ts';
import { AppError } from '../../lib/app-error.ts';
import type { Clock } from '../../lib/clock.ts';
import { recordSecurityEvent, type RequestMeta } from '../audit/security-events.ts';
import type { AssertionRefusal, PasskeyService } from '../passkeys/passkey.service.ts';
import { MAX_CODE_ATTEMPTS_PER_PENDING_SIGN_IN } from '../two-factor/account-lockout.ts';
import type { User } from '../users/users.repository.ts';
import type { UsersService } from '../users/users.service.ts';
import type { PendingSignInAfterRefusal } from './second-factor-sign-in.ts';
import type { IssuedSession, Session, SessionService } from './session.service.ts';

/** What the passkey sign-ins need. */
export interface PasskeySignInDeps {
  db: AppDb;
  clock: Clock;
  users: UsersService;
  sessions: SessionService;
  passkeys: PasskeyService;
}

/** A passkey sign-in that worked (a new full session), or why not. */
export type PasskeySignIn = { ok: true; user: User; issued: IssuedSession } | { ok: false; reason: AssertionRefusal };

/**
 * Passwordless sign-in: a discoverable credential WITH user verification is both factors at once (NIST SP 800-63B
 * §5.1.9 multi-factor cryptographic authenticator; WebAuthn §7.2 step 17 "UV" required), so it yields a full session
 * directly: the previous session is dropped and a new token issued (no fixation, OWASP ASVS 3.2.1).
 * @example const r = await signInWithPasskey(deps, bindingOf(cookie), body, { previousSessionId, meta });
 */
export async function signInWithPasskey(
  deps: PasskeySignInDeps,
  binding: string,
  response: AuthenticationResponseJSON,
  options: { previousSessionId?: string | null | undefined; meta?: RequestMeta } = {},
): Promise<PasskeySignIn> {
  const result = await deps.passkeys.verifyAssertion('sign_in', binding, response, null, options.meta);
  if (!result.ok) return result;
  const user = await deps.users.findById(result.passkey.userId);
  if (!user) return { ok: false, reason: 'unknown_credential' };
  if (options.previousSessionId) await deps.sessions.destroySession(options.previousSessionId);
  const issued = await deps.sessions.createSession(user.id, 'authenticated', options.meta);
  await recordSecurityEvent(deps.db, { userId: user.id, type: 'sign_in_with_passkey', meta: options.meta, detail: { passkeyId: result.passkey.id, as: 'both_factors' }, at: deps.clock.now() });
  return { ok: true, user, issued };
}

/** Outcome of {@link completePasskeySecondFactor}. */
export type PasskeySecondFactor =
  | { ok: true; issued: IssuedSession }
  | { ok: false; reason: AssertionRefusal | 'pending_sign_in_ended'; pendingSignIn: PendingSignInAfterRefusal };

/**
 * The second sign-in step with a passkey instead of a code: one of the pending sign-in's attempts is reserved first
 * (as for codes), the assertion must come from one of THIS user's passkeys over the challenge issued to THIS pending
 * sign-in, and success upgrades the pending session under a new token. A passkey cannot be guessed, so the account's
 * code lockout (NIST SP 800-63B §5.2.2, for 6-digit codes) neither counts nor blocks it; the per-sign-in cap still ends
 * a pending sign-in after MAX_CODE_ATTEMPTS_PER_PENDING_SIGN_IN refusals.
 */
export async function completePasskeySecondFactor(
  deps: PasskeySignInDeps,
  pending: Session,
  response: AuthenticationResponseJSON,
  meta: RequestMeta,
): Promise<PasskeySecondFactor> {
  if (pending.state !== 'pending_two_factor') throw new TypeError('completePasskeySecondFactor needs a pending_two_factor session');
  const attempt = await deps.sessions.reservePendingSignInAttempt(pending.id);
  if (attempt === null) return { ok: false, reason: 'pending_sign_in_ended', pendingSignIn: 'gone' };
  if (attempt > MAX_CODE_ATTEMPTS_PER_PENDING_SIGN_IN) return { ok: false, reason: 'pending_sign_in_ended', pendingSignIn: await end(deps, pending) };
  const result = await deps.passkeys.verifyAssertion('second_factor', pending.id, response, pending.userId, meta);
  if (!result.ok) {
    const pendingSignIn = attempt >= MAX_CODE_ATTEMPTS_PER_PENDING_SIGN_IN ? await end(deps, pending) : 'kept';
    return { ok: false, reason: pendingSignIn === 'kept' ? result.reason : 'pending_sign_in_ended', pendingSignIn };
  }
  try {
    const issued = await deps.sessions.upgradeSession(pending, meta);
    await recordSecurityEvent(deps.db, { userId: pending.userId, type: 'sign_in_with_passkey', meta, detail: { passkeyId: result.passkey.id, as: 'second_factor' }, at: deps.clock.now() });
    return { ok: true, issued };
  } catch (error) {
    if (error instanceof AppError && error.code === 'two_factor_pending_expired') return { ok: false, reason: 'pending_sign_in_ended', pendingSignIn: 'gone' };
    throw error;
  }
}

async function end(deps: PasskeySignInDeps, pending: Session): Promise<'ended' | 'gone'> {
  return (await deps.sessions.destroySession(pending.id)) ? 'ended' : 'gone';
}
