import { AppError } from '../../lib/app-error.ts';
import type { RequestMeta } from '../audit/security-events.ts';
import { MAX_CODE_ATTEMPTS_PER_PENDING_SIGN_IN } from '../two-factor/account-lockout.ts';
import { classifySecondFactorInput, screenLegacyBackupCode } from '../two-factor/second-factor-input.ts';
import { verifyPlausibleSecondFactor, type SecondFactorDeps } from '../two-factor/second-factor-pipeline.ts';
import { MALFORMED_CODE, type SecondFactorFailure, type SecondFactorKind } from '../two-factor/second-factor-result.ts';
import type { IssuedSession, Session, SessionService } from './session.service.ts';

/** What {@link completeSecondFactorSignIn} needs: the pipeline's deps and the session service. */
export interface SecondFactorSignInDeps extends SecondFactorDeps {
  sessions: SessionService;
}

/**
 * What became of the pending sign-in after a refused code: 'kept' (try another code), 'ended' (THIS request deleted it:
 * clear the cookie) or 'gone' (a concurrent request upgraded or ended it: leave the cookie alone, it may already hold
 * that request's new session, OWASP ASVS 3.2.1).
 */
export type PendingSignInAfterRefusal = 'kept' | 'ended' | 'gone';

/** Outcome of {@link completeSecondFactorSignIn}; never thrown, always checked. */
export type SecondFactorSignIn =
  | { ok: true; issued: IssuedSession; method: SecondFactorKind; backupCodesRemaining: number }
  | (SecondFactorFailure & { pendingSignIn: PendingSignInAfterRefusal });

/**
 * The second sign-in step as a pipeline: classify the input (junk is refused uncounted, OWASP ASVS 5.1.3) → reserve one
 * of the pending sign-in's MAX_CODE_ATTEMPTS_PER_PENDING_SIGN_IN attempts → the account pipeline (reserve an account
 * attempt, decrypt, verify, claim by compare-and-swap, settle) → on success, upgrade the pending session to a full one
 * under a NEW token (ASVS 3.2.1). A refusal after the sign-in's last attempt, or after 2FA was turned off meanwhile, ends
 * the pending sign-in (the password must be entered again); a lockout still reports its wait.
 * @example const r = await completeSecondFactorSignIn({ ...deps, ...services }, auth.session, body.code, meta);
 */
export async function completeSecondFactorSignIn(
  deps: SecondFactorSignInDeps,
  pending: Session,
  code: unknown,
  meta: RequestMeta,
): Promise<SecondFactorSignIn> {
  if (pending.state !== 'pending_two_factor') throw new TypeError('completeSecondFactorSignIn needs a pending_two_factor session');
  const input = await screenLegacyBackupCode(deps.twoFactor, pending.userId, classifySecondFactorInput(code));
  if (input.kind === 'malformed') return { ...MALFORMED_CODE, pendingSignIn: 'kept' };
  // Reserved BEFORE verifying (like the account's attempts), so parallel requests on one pending sign-in can never get
  // more than MAX_CODE_ATTEMPTS_PER_PENDING_SIGN_IN codes checked.
  const attempt = await deps.sessions.reservePendingSignInAttempt(pending.id);
  if (attempt === null) return pendingSignInEnded('gone');
  if (attempt > MAX_CODE_ATTEMPTS_PER_PENDING_SIGN_IN) return pendingSignInEnded(await end(deps, pending));

  const result = await verifyPlausibleSecondFactor(deps, pending.userId, input, meta);
  if (result.ok) {
    try {
      return { ...result, issued: await deps.sessions.upgradeSession(pending, meta) };
    } catch (error) {
      // A concurrent request on this pending sign-in upgraded it first: it signed in, this one did not.
      if (error instanceof AppError && error.code === 'two_factor_pending_expired') return pendingSignInEnded('gone');
      throw error;
    }
  }
  // 2FA turned off (or reset by an operator) after the password step, or this sign-in's last attempt failed.
  if (result.reason === 'not_enabled' || attempt >= MAX_CODE_ATTEMPTS_PER_PENDING_SIGN_IN) {
    const pendingSignIn = await end(deps, pending);
    return result.reason === 'locked' ? { ...result, pendingSignIn } : pendingSignInEnded(pendingSignIn, result.counted);
  }
  return { ...result, pendingSignIn: 'kept' };
}

async function end(deps: SecondFactorSignInDeps, pending: Session): Promise<'ended' | 'gone'> {
  return (await deps.sessions.destroySession(pending.id)) ? 'ended' : 'gone';
}

function pendingSignInEnded(pendingSignIn: 'ended' | 'gone', counted = false): SecondFactorSignIn {
  return { ok: false, reason: 'pending_sign_in_ended', counted, pendingSignIn };
}
