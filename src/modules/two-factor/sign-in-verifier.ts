import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import { AppError } from '../../lib/app-error.ts';
import type { Clock } from '../../lib/clock.ts';
import type { SecretBox } from '../../lib/secret-box.ts';
import { recordSecurityEvent, type RequestMeta } from '../audit/security-events.ts';
import {
  ACCOUNT_MAX_CONSECUTIVE_FAILURES,
  ACCOUNT_STALE_ATTEMPT_SECONDS,
  isLocked,
  lockIfLimitReached,
  readLockoutState,
  reserveAttempt,
  resetAfterSuccess,
  retryAfterSeconds,
} from './account-lockout.ts';
import { normalizeBackupCode } from './backup-codes.ts';
import { claimTotpStep } from './claim-totp-step.ts';
import { consumeBackupCode } from './consume-backup-code.ts';
import { verifyTotp } from './totp.ts';
import { TwoFactorRepository } from './two-factor.repository.ts';

/** Longest input even looked at; anything longer is malformed without further work (bounds hostile input). */
export const MAX_CODE_INPUT_LENGTH = 64;
/** Steps either side of now a TOTP code may come from, for clock drift (RFC 6238 §5.2: ±1 step = ±30 s). */
export const TOTP_DRIFT_STEPS = 1;

/** What the verifier needs: the database, the clock (injected for lockout tests) and the key ring for TOTP secrets. */
export interface SecondFactorDeps {
  db: Kysely<Database>;
  clock: Clock;
  secretBox: SecretBox;
}

/** Why a code is being checked; only 'sign_in' records the sign_in_with_* events (callers log their own action). */
export type SecondFactorPurpose = 'sign_in' | 'disable' | 'regenerate_backup_codes';

/** A verified second factor. */
export interface SecondFactorSuccess {
  ok: true;
  method: 'totp' | 'backup_code';
  backupCodesRemaining: number;
}

/** A refused second factor; `counted` says whether this attempt was added to the account's failure count. */
export interface SecondFactorFailure {
  ok: false;
  reason: 'invalid' | 'replayed' | 'locked' | 'malformed' | 'not_enabled';
  counted: boolean;
  /** With reason 'locked': whole seconds until the lockout ends (the 429's retryAfterSeconds). */
  retryAfterSeconds?: number;
  /** With 'invalid' / 'replayed': wrong codes left before the account locks. */
  failuresRemaining?: number;
}

/** Result of {@link verifySecondFactor}; never thrown, always checked. */
export type SecondFactorResult = SecondFactorSuccess | SecondFactorFailure;

/** What a submitted code looks like before any secret is touched. */
export type ClassifiedCode = { kind: 'totp'; code: string } | { kind: 'backup_code'; code: string } | { kind: 'malformed' };

/**
 * Sorts raw input into a plausible TOTP code (6 ASCII digits once spaces/dashes are removed), a plausible backup code
 * (normalises to 10 symbols of the backup alphabet) or malformed (anything else: non-strings, empty, > 64 chars, 'abc',
 * '1234567'); only plausible guesses are verified and counted, since a malformed input can never match and teaches nothing.
 * @example classifySecondFactorInput('123 456') // { kind: 'totp', code: '123456' }
 */
export function classifySecondFactorInput(code: unknown, options: { acceptBackupCode?: boolean } = {}): ClassifiedCode {
  if (typeof code !== 'string' || code.length === 0 || code.length > MAX_CODE_INPUT_LENGTH) return { kind: 'malformed' };
  const compact = code.replace(/[\s-]+/g, '');
  if (/^[0-9]{6}$/.test(compact)) return { kind: 'totp', code: compact };
  if (options.acceptBackupCode ?? true) {
    const backup = normalizeBackupCode(code);
    if (backup !== null) return { kind: 'backup_code', code: backup };
  }
  return { kind: 'malformed' };
}

/**
 * Checks a second factor at sign-in (or for a step-up action): a 6-digit TOTP code (±1 step), accepted once per time step
 * by compare-and-swap (RFC 6238 §5.2, ASVS 2.8.4), or a backup code, consumed once by compare-and-swap (NIST SP 800-63B
 * §5.1.2.2); at most 10 consecutive failures per account, counted atomically in the database, then a lockout during which
 * even a right code is refused and nothing is consumed (NIST SP 800-63B §5.2.2). Never throws for any `code`.
 * @example const r = await verifySecondFactor({ db, clock, secretBox }, userId, body.code, meta); if (!r.ok) throw secondFactorFailureToAppError(r);
 */
export async function verifySecondFactor(
  deps: SecondFactorDeps,
  userId: number,
  code: unknown,
  meta: RequestMeta,
  options: { purpose?: SecondFactorPurpose; acceptBackupCode?: boolean } = {},
): Promise<SecondFactorResult> {
  const { db } = deps;
  const purpose = options.purpose ?? 'sign_in';
  const at = deps.clock.now();
  const nowMs = at.getTime();
  const repo = new TwoFactorRepository(db, deps.secretBox);
  const record = await repo.findByUserId(userId);
  if (!record || !record.enabled) return { ok: false, reason: 'not_enabled', counted: false };
  // During a lockout nothing is verified, so a right code is refused and neither a step nor a backup code is used up.
  if (isLocked(record.lockedUntilMs, nowMs)) return lockedFailure(record.lockedUntilMs!, nowMs, false);
  const input = classifySecondFactorInput(code, { acceptBackupCode: options.acceptBackupCode });
  if (input.kind === 'malformed') return { ok: false, reason: 'malformed', counted: false };
  // Decrypt before counting, so a missing key (an operator error) is a 5xx that does not lock the user out.
  const secret = input.kind === 'totp' ? repo.revealSecret(record) : '';

  // Count the attempt BEFORE verifying it, so parallel guesses cannot all pass a stale "not locked" check (ASVS 2.2.1).
  const reservation = await reserveOrRefuse(db, userId, nowMs, meta, at);
  if ('ok' in reservation) return reservation;
  const method = input.kind;

  let outcome: 'ok' | 'invalid' | 'replayed';
  let backupCodesRemaining = record.backupCodeHashes.length;
  if (input.kind === 'totp') {
    const lastUsedStep = record.lastUsedTotpStep;
    const step = verifyTotp({ secret, code: input.code, at, window: TOTP_DRIFT_STEPS, lastUsedStep });
    if (step === null) {
      // Right code for an already-accepted step: a replay (RFC 6238 §5.2), reported distinctly and logged.
      const replay = lastUsedStep !== null && verifyTotp({ secret, code: input.code, at, window: TOTP_DRIFT_STEPS }) !== null;
      outcome = replay ? 'replayed' : 'invalid';
    } else {
      // The database decides: only one request (on any instance) advances last_used_totp_step to this step.
      outcome = (await claimTotpStep(db, userId, step, nowMs)) ? 'ok' : 'replayed';
    }
  } else {
    const consumed = await consumeBackupCode(db, userId, input.code, nowMs);
    outcome = consumed.consumed ? 'ok' : 'invalid';
    if (consumed.consumed) backupCodesRemaining = consumed.backupCodesRemaining;
  }

  if (outcome === 'ok') {
    await resetAfterSuccess(db, userId, nowMs);
    if (purpose === 'sign_in') {
      const type = method === 'totp' ? 'sign_in_with_code' : 'sign_in_with_backup_code';
      await recordSecurityEvent(db, { userId, type, meta, detail: { backupCodesRemaining }, at });
    }
    return { ok: true, method, backupCodesRemaining };
  }
  await recordSecurityEvent(db, {
    userId,
    type: outcome === 'replayed' ? 'two_factor_replay_refused' : 'two_factor_code_failed',
    meta,
    detail: { method, purpose, failedAttempts: reservation.attemptNumber },
    at,
  });
  return settleFailure(db, userId, reservation.attemptNumber, outcome, nowMs, meta, at);
}

/**
 * Counts one failed attempt of another kind against the account (e.g. a wrong password when disabling 2FA), so a stolen
 * session cannot guess without limit; returns the failure to report ('invalid' or, on the 10th, 'locked').
 */
export async function recordFailedAttempt(
  deps: Pick<SecondFactorDeps, 'db' | 'clock'>,
  userId: number,
  meta: RequestMeta,
  detail: Record<string, unknown>,
): Promise<SecondFactorFailure> {
  const at = deps.clock.now();
  const reservation = await reserveOrRefuse(deps.db, userId, at.getTime(), meta, at);
  if ('ok' in reservation) return reservation;
  await recordSecurityEvent(deps.db, { userId, type: 'two_factor_code_failed', meta, detail: { ...detail, failedAttempts: reservation.attemptNumber }, at });
  return settleFailure(deps.db, userId, reservation.attemptNumber, 'invalid', at.getTime(), meta, at);
}

/**
 * Maps a refused second factor to the AppError the HTTP layer answers with: locked → 429 too_many_attempts with
 * retryAfterSeconds, malformed → 400, not_enabled → 409, invalid/replayed → 401 invalid_code. Pass the route's
 * `acceptBackupCode` so a malformed answer only offers backup codes where they are accepted.
 */
export function secondFactorFailureToAppError(failure: SecondFactorFailure, options: { acceptBackupCode?: boolean } = {}): AppError {
  switch (failure.reason) {
    case 'locked':
      return new AppError('too_many_attempts', undefined, { retryAfterSeconds: failure.retryAfterSeconds ?? 1 });
    case 'malformed':
      return new AppError(
        'invalid_input',
        (options.acceptBackupCode ?? true)
          ? 'Enter the 6-digit code from your authenticator app or one of your backup codes.'
          : 'Enter the 6-digit code from your authenticator app; backup codes are not accepted here.',
      );
    case 'not_enabled':
      return new AppError('two_factor_not_enabled');
    // A replayed TOTP code reads like a wrong one, as a reused backup code does (its hash is gone): the catalogue's
    // invalid_code message covers both, and the owner still sees "Reused two-factor code refused" among the events.
    case 'replayed':
    default:
      return new AppError('invalid_code');
  }
}

function lockedFailure(lockedUntilMs: number, nowMs: number, counted: boolean): SecondFactorFailure {
  return { ok: false, reason: 'locked', counted, retryAfterSeconds: retryAfterSeconds(lockedUntilMs, nowMs) };
}

async function recordLockout(db: Kysely<Database>, userId: number, lock: { lockoutCount: number; lockedUntilMs: number | null }, meta: RequestMeta, at: Date): Promise<void> {
  const lockedForSeconds = lock.lockedUntilMs === null ? 0 : Math.round((lock.lockedUntilMs - at.getTime()) / 1000);
  await recordSecurityEvent(db, { userId, type: 'two_factor_lockout', meta, detail: { lockoutCount: lock.lockoutCount, lockedForSeconds }, at });
}

/** Reserves an attempt, or explains why none is available (locked, no row, or the limit used up by in-flight attempts). */
async function reserveOrRefuse(
  db: Kysely<Database>,
  userId: number,
  nowMs: number,
  meta: RequestMeta,
  at: Date,
): Promise<{ attemptNumber: number } | SecondFactorFailure> {
  for (let round = 0; round < 3; round++) {
    const reservation = await reserveAttempt(db, userId, nowMs);
    if (reservation.reserved) return { attemptNumber: reservation.attemptNumber };
    const state = await readLockoutState(db, userId);
    if (!state) return { ok: false, reason: 'not_enabled', counted: false };
    if (isLocked(state.lockedUntilMs, nowMs)) return lockedFailure(state.lockedUntilMs!, nowMs, false);
    if (state.failedAttempts >= ACCOUNT_MAX_CONSECUTIVE_FAILURES) {
      // The limit is held by attempts still being verified; they settle within milliseconds (the 10th failure locks,
      // a success resets), so refuse this one for now. Only if they have been silent for a minute (their process died)
      // is the lockout imposed here, so a crash can never leave the account stuck.
      const lock = await lockIfLimitReached(db, userId, nowMs, { onlyIfIdleSinceMs: nowMs - ACCOUNT_STALE_ATTEMPT_SECONDS * 1000 });
      if (lock.lockedNow) await recordLockout(db, userId, lock, meta, at);
      if (isLocked(lock.lockedUntilMs, nowMs)) return lockedFailure(lock.lockedUntilMs!, nowMs, false);
      return { ok: false, reason: 'locked', counted: false, retryAfterSeconds: 1 };
    }
    // Otherwise a success reset the count between our two statements: try again.
  }
  return { ok: false, reason: 'locked', counted: false, retryAfterSeconds: 1 };
}

/** After a counted failure: on the limit, lock (exactly one caller logs it) and report 'locked'; else what is left. */
async function settleFailure(
  db: Kysely<Database>,
  userId: number,
  attemptNumber: number,
  reason: 'invalid' | 'replayed',
  nowMs: number,
  meta: RequestMeta,
  at: Date,
): Promise<SecondFactorFailure> {
  if (attemptNumber >= ACCOUNT_MAX_CONSECUTIVE_FAILURES) {
    const lock = await lockIfLimitReached(db, userId, nowMs);
    if (lock.lockedNow) await recordLockout(db, userId, lock, meta, at);
    if (isLocked(lock.lockedUntilMs, nowMs)) return lockedFailure(lock.lockedUntilMs!, nowMs, true);
  }
  return { ok: false, reason, counted: true, failuresRemaining: Math.max(0, ACCOUNT_MAX_CONSECUTIVE_FAILURES - attemptNumber) };
}
