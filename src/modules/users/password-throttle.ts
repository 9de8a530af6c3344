import { createHmac, hkdfSync } from 'node:crypto';
import { sql } from 'kysely';
import type { AppDb } from '../../db/database.ts';

// Per-account password throttling (NIST SP 800-63B §5.2.2: limit consecutive failed attempts on one account; OWASP ASVS
// 2.2.1). The state lives in the password_throttle table (migration 0008), so every app instance sharing the database
// shares one count. Like the second-factor lockout (two-factor/account-lockout.ts) an attempt is RESERVED (counted)
// before its password is checked and a correct password then resets the row; so N parallel guesses cannot all slip past
// a "not throttled yet" check, and a throttled attempt never reaches the password hash at all.
//
// The row is keyed by an HMAC of the normalised username, for known and unknown usernames alike: an unknown name is
// throttled exactly like a real one, so a 429 says nothing about whether the account exists, and the table holds no
// readable usernames.

/** Consecutive wrong passwords after which further attempts must wait (the 10; NIST allows at most 100). */
export const PASSWORD_MAX_CONSECUTIVE_FAILURES = 10;
/** The first wait, after the 10th consecutive failure: 1 minute. */
export const PASSWORD_THROTTLE_BASE_WAIT_MS = 60 * 1000;
/** The wait doubles per further failure up to this cap: 1 hour. */
export const PASSWORD_THROTTLE_MAX_WAIT_MS = 60 * 60 * 1000;
/** Doublings before the cap is reached (60 s × 2^6 = 64 min > 60 min); bounds the shift in SQL. */
const MAX_DOUBLINGS = Math.ceil(Math.log2(PASSWORD_THROTTLE_MAX_WAIT_MS / PASSWORD_THROTTLE_BASE_WAIT_MS));

/**
 * The wait (ms) imposed by the n-th consecutive failure (1-based): none before the 10th, then 1 min, 2, 4 … capped at 1 h.
 * @example throttleWaitMs(9) === 0; throttleWaitMs(10) === 60_000; throttleWaitMs(11) === 120_000; throttleWaitMs(40) === 3_600_000
 */
export function throttleWaitMs(failureNumber: number): number {
  if (!Number.isInteger(failureNumber) || failureNumber < 1) throw new TypeError('failureNumber must be an integer ≥ 1');
  if (failureNumber < PASSWORD_MAX_CONSECUTIVE_FAILURES) return 0;
  const doublings = failureNumber - PASSWORD_MAX_CONSECUTIVE_FAILURES;
  if (doublings >= MAX_DOUBLINGS) return PASSWORD_THROTTLE_MAX_WAIT_MS;
  return Math.min(PASSWORD_THROTTLE_BASE_WAIT_MS * 2 ** doublings, PASSWORD_THROTTLE_MAX_WAIT_MS);
}

/**
 * The HMAC key of throttle rows, derived (HKDF, RFC 5869) from the app's shared CSRF key so every instance agrees and no
 * key is used for two purposes.
 */
export function deriveThrottleKey(csrfKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', csrfKey, Buffer.alloc(0), 'production-crew password throttle v1', 32));
}

/**
 * The row key for a typed username: HMAC-SHA256 of the trimmed, lower-cased name (the same normalisation sign-in uses to
 * find the account, so 'Alice' and 'alice ' share one budget).
 */
export function throttleKeyHash(key: Buffer, username: string): string {
  return createHmac('sha256', key).update(username.trim().toLowerCase(), 'utf8').digest('hex');
}

/** A reserved attempt may check its password; a refused one must answer 429 without checking it. */
export type ThrottleReservation =
  | { ok: true; failureNumber: number; attemptsSinceSuccess: number; waitMsIfWrong: number }
  | { ok: false; retryAfterSeconds: number; attemptsSinceSuccess: number };

/**
 * Reserves one password attempt for a key at nowMs. Unthrottled: counts it (failed_count + 1) and, when that makes the
 * 10th or later consecutive failure, starts the wait in the SAME statement. Throttled: counts it only in
 * attempts_since_success and returns the wait left. One atomic upsert for an attempt that may proceed (a first attempt
 * creates the row already counted), a second row write for a refused one.
 */
export async function reservePasswordAttempt(db: AppDb, keyHash: string, nowMs: number): Promise<ThrottleReservation> {
  // Inside ON CONFLICT DO UPDATE every column is qualified: PostgreSQL would find an unqualified name ambiguous with
  // `excluded`, and on both engines the qualified name is the row already stored.
  const column = (name: 'failed_count' | 'attempts_since_success' | 'locked_until_ms') => sql.ref(`password_throttle.${name}`);
  const open = sql<boolean>`(${column('locked_until_ms')} IS NULL OR ${column('locked_until_ms')} <= ${nowMs})`;
  const next = sql`(${column('failed_count')} + 1)`;
  const limit = sql.lit(PASSWORD_MAX_CONSECUTIVE_FAILURES);
  const base = sql.lit(PASSWORD_THROTTLE_BASE_WAIT_MS);
  // `<<` and CAST(… AS bigint) mean the same on SQLite and PostgreSQL; the shift is bounded before it could overflow.
  const wait = sql`(CASE WHEN ${next} - ${limit} >= ${sql.lit(MAX_DOUBLINGS)} THEN ${sql.lit(PASSWORD_THROTTLE_MAX_WAIT_MS)} ELSE (CAST(${base} AS bigint) << (${next} - ${limit})) END)`;
  // A new row is the first failure counted (1 < PASSWORD_MAX_CONSECUTIVE_FAILURES, so no wait yet): what DO UPDATE
  // makes of a row of zeros. A row with a wait in force is left alone (no row comes back) and is refused below.
  const reserved = await db
    .insertInto('password_throttle')
    .values({ key_hash: keyHash, failed_count: 1, attempts_since_success: 1, locked_until_ms: null, updated_at_ms: nowMs })
    .onConflict((oc) =>
      oc
        .column('key_hash')
        .doUpdateSet({
          failed_count: sql<number>`${next}`,
          attempts_since_success: sql<number>`${column('attempts_since_success')} + 1`,
          locked_until_ms: sql<number | null>`CASE WHEN ${next} >= ${limit} THEN CAST(${nowMs} AS bigint) + CASE WHEN ${wait} > ${sql.lit(PASSWORD_THROTTLE_MAX_WAIT_MS)} THEN ${sql.lit(PASSWORD_THROTTLE_MAX_WAIT_MS)} ELSE ${wait} END ELSE NULL END`,
          updated_at_ms: nowMs,
        })
        .where(open),
    )
    .returning(['failed_count', 'attempts_since_success'])
    .executeTakeFirst();
  if (reserved) {
    const failureNumber = Number(reserved.failed_count);
    return { ok: true, failureNumber, attemptsSinceSuccess: Number(reserved.attempts_since_success), waitMsIfWrong: throttleWaitMs(failureNumber) };
  }
  const refused = await db
    .updateTable('password_throttle')
    .set({ attempts_since_success: sql<number>`attempts_since_success + 1`, updated_at_ms: nowMs })
    .where('key_hash', '=', keyHash)
    .returning(['locked_until_ms', 'attempts_since_success'])
    .executeTakeFirstOrThrow();
  const retryAfterSeconds = Math.max(1, Math.ceil((Number(refused.locked_until_ms ?? nowMs) - nowMs) / 1000));
  return { ok: false, retryAfterSeconds, attemptsSinceSuccess: Number(refused.attempts_since_success) };
}

/** A correct password: the row starts over (no wait, no count). */
export async function resetPasswordThrottle(db: AppDb, keyHash: string, nowMs: number): Promise<void> {
  await db
    .updateTable('password_throttle')
    .set({ failed_count: 0, attempts_since_success: 0, locked_until_ms: null, updated_at_ms: nowMs })
    .where('key_hash', '=', keyHash)
    .execute();
}

/** Rows untouched this long with no wait in force are deleted by the server's periodic sweep (30 days). */
export const PASSWORD_THROTTLE_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

/**
 * Deletes rows untouched since `olderThanMs` that hold no wait in force (unknown usernames add rows; this bounds the
 * table). Returns how many. A deleted row only forgets failures older than the cut-off.
 */
export async function prunePasswordThrottle(db: AppDb, olderThanMs: number, nowMs: number): Promise<number> {
  const result = await db
    .deleteFrom('password_throttle')
    .where('updated_at_ms', '<', olderThanMs)
    .where((eb) => eb.or([eb('locked_until_ms', 'is', null), eb('locked_until_ms', '<=', nowMs)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
