import type { AppDb } from '../../db/database.ts';

/** What the user is told after signing in: wrong or refused password attempts before their latest sign-in. */
export interface FailedAttemptsNotice {
  count: number;
  /** When that sign-in's password was accepted. */
  signedInAt: Date;
}

/**
 * The failed-attempts count recorded with the user's latest accepted password (the `sign_in_password` event's
 * `failedAttemptsSinceLastSignIn`, from the password throttle), or null when it was 0 or there is none. NIST SP 800-63B
 * §5.2.2 and OWASP ASVS 2.2.3 (notify users of suspicious sign-in activity): a user who sees "12 failed attempts" they
 * did not make knows someone is guessing.
 * @example const notice = await failedAttemptsBeforeLastSignIn(db, user.id); // { count: 12, signedInAt }
 */
export async function failedAttemptsBeforeLastSignIn(db: AppDb, userId: number): Promise<FailedAttemptsNotice | null> {
  const row = await db
    .selectFrom('security_events')
    .select(['detail', 'created_at_ms'])
    .where('user_id', '=', userId)
    .where('type', '=', 'sign_in_password')
    .orderBy('created_at_ms', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row?.detail) return null;
  const count = (JSON.parse(row.detail) as { failedAttemptsSinceLastSignIn?: unknown }).failedAttemptsSinceLastSignIn;
  if (typeof count !== 'number' || !Number.isInteger(count) || count <= 0) return null;
  return { count, signedInAt: new Date(Number(row.created_at_ms)) };
}
