import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';

// Per-account brute-force limit on the second factor (NIST SP 800-63B §5.2.2, OWASP ASVS 2.2.1 / 2.8.x).
// The counters live in two_factor_auth (failed_attempts, locked_until_ms, lockout_count) and change only by
// single atomic UPDATE statements, so every app instance sharing the database shares one count.
//
// Race safety: an attempt is *reserved* (failed_attempts + 1, only while unlocked and below the limit) BEFORE
// the code is verified, and a success resets the count afterwards. So N parallel guesses cannot all slip past
// a "not locked yet" check: at most ACCOUNT_MAX_CONSECUTIVE_FAILURES codes are ever verified per lockout cycle.

/** Consecutive failed codes that lock the account (the 10; NIST SP 800-63B §5.2.2 allows at most 100). */
export const ACCOUNT_MAX_CONSECUTIVE_FAILURES = 10;
/** Length of the first lockout in seconds (15 minutes); each further lockout without a success in between doubles it. */
export const ACCOUNT_LOCKOUT_BASE_SECONDS = 15 * 60;
/** Doublings stop after this many (15 min × 2^16 ≈ 1.9 years), only to keep the arithmetic bounded. */
export const ACCOUNT_LOCKOUT_MAX_DOUBLINGS = 16;
/**
 * An attempt still unsettled after this long is taken to have died with its process: if the limit is used up by such
 * attempts and no lock was imposed, the next attempt imposes it (so a crash can never leave an account stuck or unlocked).
 */
export const ACCOUNT_STALE_ATTEMPT_SECONDS = 60;
/** Wrong codes one pending sign-in (sessions.two_factor_failures) may make before the password must be entered again. */
export const MAX_CODE_ATTEMPTS_PER_PENDING_SIGN_IN = 5;

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

/** The lockout columns of one user's two_factor_auth row. */
export interface LockoutState {
  failedAttempts: number;
  lockoutCount: number;
  lockedUntilMs: number | null;
}

/** Reads a user's lockout counters, or null when the user has no two_factor_auth row. */
export async function readLockoutState(db: Kysely<Database>, userId: number): Promise<LockoutState | null> {
  const row = await db
    .selectFrom('two_factor_auth')
    .select(['failed_attempts', 'lockout_count', 'locked_until_ms'])
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (!row) return null;
  return {
    failedAttempts: Number(row.failed_attempts),
    lockoutCount: Number(row.lockout_count),
    lockedUntilMs: row.locked_until_ms === null ? null : Number(row.locked_until_ms),
  };
}

/** Outcome of {@link reserveAttempt}: the attempt's number within this lockout cycle, or no reservation. */
export type AttemptReservation = { reserved: true; attemptNumber: number } | { reserved: false };

/**
 * Counts one attempt before it is checked (`SET failed_attempts = failed_attempts + 1`), only while the account is not
 * locked and below the limit; `reserved: false` means locked, the limit is used up by other in-flight attempts, or no row.
 */
export async function reserveAttempt(db: Kysely<Database>, userId: number, nowMs: number): Promise<AttemptReservation> {
  const row = await db
    .updateTable('two_factor_auth')
    .set((eb) => ({ failed_attempts: eb('failed_attempts', '+', 1), updated_at_ms: nowMs }))
    .where('user_id', '=', userId)
    .where('failed_attempts', '<', ACCOUNT_MAX_CONSECUTIVE_FAILURES)
    .where((eb) => eb.or([eb('locked_until_ms', 'is', null), eb('locked_until_ms', '<=', nowMs)]))
    .returning('failed_attempts')
    .executeTakeFirst();
  return row ? { reserved: true, attemptNumber: Number(row.failed_attempts) } : { reserved: false };
}

/** Outcome of {@link lockIfLimitReached}: whether THIS call imposed the lock (exactly one caller per lockout does). */
export interface LockResult {
  lockedNow: boolean;
  lockoutCount: number;
  lockedUntilMs: number | null;
}

/**
 * Imposes the lockout once the limit is reached: in ONE statement, if failed_attempts ≥ the limit and the account is
 * not locked, sets locked_until_ms = now + 15 min × 2^lockout_count, lockout_count + 1 and failed_attempts = 0.
 * Concurrent callers race on that WHERE clause, so exactly one of them reports lockedNow (and logs the lockout).
 * With onlyIfIdleSinceMs, only when the row was last written at or before that instant (its attempts are dead).
 */
export async function lockIfLimitReached(
  db: Kysely<Database>,
  userId: number,
  nowMs: number,
  options: { onlyIfIdleSinceMs?: number } = {},
): Promise<LockResult> {
  const baseMs = sql.lit(ACCOUNT_LOCKOUT_BASE_SECONDS * 1000);
  const maxShift = sql.lit(ACCOUNT_LOCKOUT_MAX_DOUBLINGS);
  // Computed from the row's own lockout_count inside the UPDATE (both engines evaluate SET against the old row),
  // so two instances can never double-count a lockout. `<<` and CAST(… AS bigint) mean the same on SQLite and PostgreSQL.
  const lockedUntil = sql<number>`CAST(${nowMs} AS bigint) + (CAST(${baseMs} AS bigint) << (CASE WHEN lockout_count > ${maxShift} THEN ${maxShift} ELSE lockout_count END))`;
  const row = await db
    .updateTable('two_factor_auth')
    .set((eb) => ({
      failed_attempts: 0,
      lockout_count: eb('lockout_count', '+', 1),
      locked_until_ms: lockedUntil,
      updated_at_ms: nowMs,
    }))
    .where('user_id', '=', userId)
    .where('failed_attempts', '>=', ACCOUNT_MAX_CONSECUTIVE_FAILURES)
    .where((eb) => eb.or([eb('locked_until_ms', 'is', null), eb('locked_until_ms', '<=', nowMs)]))
    .$if(options.onlyIfIdleSinceMs !== undefined, (qb) =>
      qb.where((eb) => eb.or([eb('updated_at_ms', 'is', null), eb('updated_at_ms', '<=', options.onlyIfIdleSinceMs!)])),
    )
    .returning(['lockout_count', 'locked_until_ms'])
    .executeTakeFirst();
  if (row) return { lockedNow: true, lockoutCount: Number(row.lockout_count), lockedUntilMs: Number(row.locked_until_ms) };
  const state = await readLockoutState(db, userId);
  return { lockedNow: false, lockoutCount: state?.lockoutCount ?? 0, lockedUntilMs: state?.lockedUntilMs ?? null };
}

/**
 * Clears the counters after a verified code: failed_attempts, lockout_count and any lock go back to zero, so the next
 * lockout is 15 minutes again (our documented choice: a success proves the owner is present, so the doubling restarts).
 */
export async function resetAfterSuccess(db: Kysely<Database>, userId: number, nowMs: number): Promise<void> {
  await db
    .updateTable('two_factor_auth')
    .set({ failed_attempts: 0, lockout_count: 0, locked_until_ms: null, updated_at_ms: nowMs })
    .where('user_id', '=', userId)
    .execute();
}
