import type { AppDb } from '../../db/database.ts';
import type { Clock } from '../../lib/clock.ts';
import { recordSecurityEvent, type RequestMeta } from '../audit/security-events.ts';
import { ACCOUNT_MAX_CONSECUTIVE_FAILURES, isLocked, lockedFailure, REFUSED_WHILE_LOCKED } from './account-lockout.ts';
import { backupCodeMethod } from './backup-code-method.ts';
import { classifySecondFactorInput, screenLegacyBackupCode, type PlausibleSecondFactor } from './second-factor-input.ts';
import { SecondFactorUnavailable, type ClaimOutcome, type ReservedAttempt, type SecondFactorMethod } from './second-factor-method.ts';
import {
  MALFORMED_CODE,
  NOT_ENABLED,
  type SecondFactorFailure,
  type SecondFactorKind,
  type SecondFactorPurpose,
  type SecondFactorResult,
} from './second-factor-result.ts';
import { totpMethod } from './totp-method.ts';
import { decodeTwoFactorRow } from './two-factor-record.ts';
import type { TwoFactorRepository } from './two-factor.repository.ts';

/** What the pipeline needs: the repository (built once per app), the clock (injected for lockout tests), the db for audit rows. */
export interface SecondFactorDeps {
  db: AppDb;
  clock: Clock;
  twoFactor: TwoFactorRepository;
}

/** Options of {@link verifySecondFactor}. */
export interface VerifySecondFactorOptions {
  /** Why the code is checked (default 'sign_in', the only purpose that logs sign_in_with_* events). */
  purpose?: SecondFactorPurpose;
  /** Whether a backup code is accepted (default true; regenerating backup codes takes a TOTP code only). */
  acceptBackupCode?: boolean;
  /** A password asked for in the same request (turning 2FA off): checked inside the reserved attempt, before the code. */
  password?: () => Promise<boolean>;
}

/** The factors the pipeline can verify, one step each; a passkey would add `passkey: passkeyMethod` (docs/ARCHITECTURE.md). */
const METHODS: Record<SecondFactorKind, SecondFactorMethod> = { totp: totpMethod, backup_code: backupCodeMethod };

/** Outcome of {@link reserveAccountAttempt}. */
export type AccountAttemptReservation = { reserved: true; attempt: ReservedAttempt } | { reserved: false; failure: SecondFactorFailure };

/**
 * Pipeline step: counts one attempt against the account BEFORE anything is verified, in one statement that also reads
 * the row; refused (uncounted) when 2FA is not enabled, or locked — then with the real wait until the lock ends.
 */
export async function reserveAccountAttempt(twoFactor: TwoFactorRepository, userId: number, at: Date): Promise<AccountAttemptReservation> {
  const row = await twoFactor.reserveAttempt(userId, at.getTime());
  if (!row) return { reserved: false, failure: NOT_ENABLED };
  const record = decodeTwoFactorRow(row);
  if (record.reservedAttempts >= REFUSED_WHILE_LOCKED) {
    if (!isLocked(record.lockedUntilMs, at.getTime())) throw new Error('a refused reservation must meet a lock in force');
    return { reserved: false, failure: lockedFailure(record.lockedUntilMs!, at.getTime(), false) };
  }
  const imposedLockUntilMs = record.reservedAttempts === ACCOUNT_MAX_CONSECUTIVE_FAILURES ? record.lockedUntilMs : null;
  const attempt = { userId, attemptNumber: record.reservedAttempts, imposedLockUntilMs, record, at } as ReservedAttempt;
  return { reserved: true, attempt };
}

/**
 * Checks a second factor — a 6-digit TOTP code (±1 step) accepted once per time step (RFC 6238 §5.2, ASVS 2.8.4) or a
 * backup code used once (NIST SP 800-63B §5.1.2.2) — as one explicit pipeline:
 *   classify (pure) → reserve an account attempt (counted before verifying) → [password] → decrypt → verify →
 *   claim by compare-and-swap (which resets the counters) → settle (audit; the attempt that took the last slot reports
 *   its lockout). At most 10 consecutive failures per account, then a lockout during which even a right code is refused
 *   and nothing is consumed (NIST SP 800-63B §5.2.2). Never throws for any `code`.
 * @example const r = await verifySecondFactor({ db, clock, twoFactor }, userId, body.code, meta); if (!r.ok) …
 */
export async function verifySecondFactor(
  deps: SecondFactorDeps,
  userId: number,
  code: unknown,
  meta: RequestMeta,
  options: VerifySecondFactorOptions = {},
): Promise<SecondFactorResult> {
  const input = await screenLegacyBackupCode(deps.twoFactor, userId, classifySecondFactorInput(code, options));
  if (input.kind === 'malformed') return MALFORMED_CODE;
  return verifyPlausibleSecondFactor(deps, userId, input, meta, options);
}

/** {@link verifySecondFactor} after the classify step, for callers that put a step of their own in between (a pending sign-in's cap). */
export async function verifyPlausibleSecondFactor(
  deps: SecondFactorDeps,
  userId: number,
  input: PlausibleSecondFactor,
  meta: RequestMeta,
  options: VerifySecondFactorOptions = {},
): Promise<SecondFactorResult> {
  const reservation = await reserveAccountAttempt(deps.twoFactor, userId, deps.clock.now());
  if (!reservation.reserved) return reservation.failure;
  const { attempt } = reservation;
  const purpose = options.purpose ?? 'sign_in';
  if (options.password && !(await options.password())) {
    await recordFailure(deps, attempt, 'two_factor_code_failed', { purpose, factor: 'password' }, meta);
    return settleFailure(deps, attempt, 'wrong_password', meta);
  }
  let claim: ClaimOutcome;
  try {
    claim = await METHODS[input.kind].verifyAndClaim(deps.twoFactor, attempt, input.code);
  } catch (error) {
    // Nothing was verified: give the slot back, so an operator error (a missing key) locks nobody out.
    if (error instanceof SecondFactorUnavailable) await deps.twoFactor.releaseAttempt(userId, attempt, attempt.at.getTime());
    throw error;
  }
  if (claim.outcome === 'claimed') {
    if (purpose === 'sign_in') {
      const type = input.kind === 'totp' ? 'sign_in_with_code' : 'sign_in_with_backup_code';
      await recordSecurityEvent(deps.db, { userId, type, meta, detail: { backupCodesRemaining: claim.backupCodesRemaining }, at: attempt.at });
    }
    return { ok: true, method: input.kind, backupCodesRemaining: claim.backupCodesRemaining };
  }
  const type = claim.outcome === 'replayed' ? 'two_factor_replay_refused' : 'two_factor_code_failed';
  await recordFailure(deps, attempt, type, { method: input.kind, purpose }, meta);
  return settleFailure(deps, attempt, claim.outcome, meta);
}

async function recordFailure(
  deps: SecondFactorDeps,
  attempt: ReservedAttempt,
  type: 'two_factor_code_failed' | 'two_factor_replay_refused',
  detail: Record<string, unknown>,
  meta: RequestMeta,
): Promise<void> {
  await recordSecurityEvent(deps.db, { userId: attempt.userId, type, meta, detail: { ...detail, failedAttempts: attempt.attemptNumber }, at: attempt.at });
}

/**
 * Pipeline step after a counted failure: the attempt that took the last slot reports the lockout it imposed, and logs it
 * (exactly one attempt per lockout does), unless a concurrent verified code has lifted it meanwhile; any other failure
 * says how many wrong attempts are left.
 */
async function settleFailure(
  deps: SecondFactorDeps,
  attempt: ReservedAttempt,
  reason: 'invalid' | 'replayed' | 'wrong_password',
  meta: RequestMeta,
): Promise<SecondFactorFailure> {
  const { userId, at, imposedLockUntilMs } = attempt;
  if (imposedLockUntilMs !== null && (await deps.twoFactor.readLockedUntilMs(userId)) === imposedLockUntilMs) {
    const lockedForSeconds = Math.round((imposedLockUntilMs - at.getTime()) / 1000);
    const detail = { lockoutCount: attempt.record.lockoutCount, lockedForSeconds };
    await recordSecurityEvent(deps.db, { userId, type: 'two_factor_lockout', meta, detail, at });
    return lockedFailure(imposedLockUntilMs, at.getTime(), true);
  }
  return { ok: false, reason, counted: true, failuresRemaining: Math.max(0, ACCOUNT_MAX_CONSECUTIVE_FAILURES - attempt.attemptNumber) };
}
