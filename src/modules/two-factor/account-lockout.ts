import { sql, type RawBuilder } from 'kysely';
import type { SecondFactorFailure } from './second-factor-result.ts';

// Per-account brute-force limit on the second factor (NIST SP 800-63B §5.2.2, OWASP ASVS 2.2.1 / 2.8.x).
// The counters live in two_factor_auth (failed_attempts, locked_until_ms, lockout_count) and change only by single
// atomic UPDATE statements, so every app instance sharing the database shares one count.
//
// Race safety: an attempt is *reserved* (counted) BEFORE its code is verified, and the reservation that takes the last
// allowed slot imposes the lockout in the same statement; a verified code lifts it again. So N parallel guesses can
// never all slip past a "not locked yet" check, at most ACCOUNT_MAX_CONSECUTIVE_FAILURES codes are verified per lockout
// cycle, and an attempt that finds no free slot always meets a real lock with a real end (never "come back later").

/** Consecutive failed codes that lock the account (the 10; NIST SP 800-63B §5.2.2 allows at most 100). */
export const ACCOUNT_MAX_CONSECUTIVE_FAILURES = 10;
/** Length of the first lockout in seconds (15 minutes); each further lockout without a success in between doubles it. */
export const ACCOUNT_LOCKOUT_BASE_SECONDS = 15 * 60;
/** Doublings stop after this many (15 min × 2^16 ≈ 1.9 years), only to keep the arithmetic bounded. */
export const ACCOUNT_LOCKOUT_MAX_DOUBLINGS = 16;
/** Wrong codes one pending sign-in (sessions.two_factor_failures) may make before the password must be entered again. */
export const MAX_CODE_ATTEMPTS_PER_PENDING_SIGN_IN = 5;

/**
 * What failed_attempts holds after an attempt was refused because the account is locked. It is above every number a
 * reservation can return (1..limit), so the one statement's answer says unambiguously whether it reserved a slot.
 */
export const REFUSED_WHILE_LOCKED = ACCOUNT_MAX_CONSECUTIVE_FAILURES + 1;

/**
 * Seconds the n-th consecutive lockout (1-based) lasts: 15 min × 2^(n−1), doubling capped at ACCOUNT_LOCKOUT_MAX_DOUBLINGS.
 * @example lockoutDurationSeconds(1) === 900; lockoutDurationSeconds(2) === 1800
 */
export function lockoutDurationSeconds(lockoutNumber: number): number {
  if (!Number.isInteger(lockoutNumber) || lockoutNumber < 1) throw new TypeError('lockoutNumber must be an integer ≥ 1');
  return ACCOUNT_LOCKOUT_BASE_SECONDS * 2 ** Math.min(lockoutNumber - 1, ACCOUNT_LOCKOUT_MAX_DOUBLINGS);
}

/** Tells whether a lock that ends at lockedUntilMs is still in force at nowMs (the end instant itself is unlocked). */
export function isLocked(lockedUntilMs: number | null | undefined, nowMs: number): boolean {
  return lockedUntilMs !== null && lockedUntilMs !== undefined && Number(lockedUntilMs) > nowMs;
}

/** Whole seconds until a lock ends, rounded up and at least 1, for a 429's retryAfterSeconds. */
export function retryAfterSeconds(lockedUntilMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((Number(lockedUntilMs) - nowMs) / 1000));
}

/** The refusal for an attempt made while a lock that ends at lockedUntilMs is in force. */
export function lockedFailure(lockedUntilMs: number, nowMs: number, counted: boolean): SecondFactorFailure {
  return { ok: false, reason: 'locked', counted, retryAfterSeconds: retryAfterSeconds(lockedUntilMs, nowMs) };
}

/**
 * The SET clause of the one-statement reservation (run by TwoFactorRepository.reserveAttempt on an enabled row):
 * - unlocked: failed_attempts becomes this attempt's number (a lock that has ended starts a new cycle at 1), and the
 *   attempt that takes the last slot also sets locked_until_ms = now + 15 min × 2^lockout_count and lockout_count + 1;
 * - locked: nothing is reserved and failed_attempts is marked REFUSED_WHILE_LOCKED.
 * Both engines evaluate every SET expression against the old row, so concurrent callers each get a distinct number.
 */
export function reservationUpdate(nowMs: number): Record<'failed_attempts' | 'locked_until_ms' | 'lockout_count' | 'updated_at_ms', RawBuilder<number>> {
  const limit = sql.lit(ACCOUNT_MAX_CONSECUTIVE_FAILURES);
  const open = sql`(locked_until_ms IS NULL OR locked_until_ms <= ${nowMs})`;
  const next = sql`(CASE WHEN failed_attempts >= ${limit} OR failed_attempts < 0 THEN 1 ELSE failed_attempts + 1 END)`;
  const takesLastSlot = sql`(${open} AND ${next} = ${limit})`;
  const baseMs = sql.lit(ACCOUNT_LOCKOUT_BASE_SECONDS * 1000);
  const maxShift = sql.lit(ACCOUNT_LOCKOUT_MAX_DOUBLINGS);
  // `<<` and CAST(… AS bigint) mean the same on SQLite and PostgreSQL.
  const lockedUntil = sql`CAST(${nowMs} AS bigint) + (CAST(${baseMs} AS bigint) << (CASE WHEN lockout_count > ${maxShift} THEN ${maxShift} ELSE lockout_count END))`;
  return {
    failed_attempts: sql<number>`CASE WHEN ${open} THEN ${next} ELSE ${sql.lit(REFUSED_WHILE_LOCKED)} END`,
    locked_until_ms: sql<number>`CASE WHEN ${takesLastSlot} THEN ${lockedUntil} ELSE locked_until_ms END`,
    lockout_count: sql<number>`CASE WHEN ${takesLastSlot} THEN lockout_count + 1 ELSE lockout_count END`,
    updated_at_ms: sql<number>`CASE WHEN ${open} THEN ${nowMs} ELSE updated_at_ms END`,
  };
}
