// WebAuthn challenges (WebAuthn Level 3 §13.4.3 "Cryptographic Challenges"): at least 16 random bytes, issued for ONE
// ceremony, bound to the session (or the passkey sign-in cookie) that asked for it, good for CHALLENGE_LIFETIME_MS, and
// consumed by the single statement that deletes it, so a challenge is accepted at most once across every instance
// (a replayed or parallel second use finds no row).
import type { AppDb } from '../../db/database.ts';

/** How long a challenge may be answered: 5 minutes (the timeout the browser is given too). */
export const CHALLENGE_LIFETIME_MS = 5 * 60 * 1000;

/** Which ceremony a challenge is for; one cannot be answered as another. */
export type ChallengePurpose = 'registration' | 'sign_in' | 'second_factor';

/** Stores a newly issued challenge (base64url) and drops expired ones on the way. */
export async function storeChallenge(
  db: AppDb,
  challenge: { challenge: string; purpose: ChallengePurpose; binding: string; userId: number | null; nowMs: number },
): Promise<void> {
  await db.deleteFrom('webauthn_challenges').where('expires_at_ms', '<=', challenge.nowMs).execute();
  await db
    .insertInto('webauthn_challenges')
    .values({
      challenge: challenge.challenge,
      purpose: challenge.purpose,
      binding: challenge.binding,
      user_id: challenge.userId,
      expires_at_ms: challenge.nowMs + CHALLENGE_LIFETIME_MS,
    })
    .execute();
}

/**
 * Consumes a challenge by compare-and-swap: ONE `DELETE … RETURNING` that matches the challenge, its purpose, its
 * binding and an unexpired lifetime. Returns the user it was issued for (null for a passwordless sign-in), or
 * `undefined` when there is no such live challenge: never issued, already used, expired, or another session's.
 */
export async function consumeChallenge(
  db: AppDb,
  query: { challenge: string; purpose: ChallengePurpose; binding: string; nowMs: number },
): Promise<{ userId: number | null } | undefined> {
  const row = await db
    .deleteFrom('webauthn_challenges')
    .where('challenge', '=', query.challenge)
    .where('purpose', '=', query.purpose)
    .where('binding', '=', query.binding)
    .where('expires_at_ms', '>', query.nowMs)
    .returning('user_id')
    .executeTakeFirst();
  return row ? { userId: row.user_id === null ? null : Number(row.user_id) } : undefined;
}
