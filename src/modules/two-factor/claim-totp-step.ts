import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';

/**
 * Records `step` as the user's last accepted TOTP time step, by compare-and-swap in the database,
 * so a code is accepted at most once across every app instance (RFC 6238 §5.2, OWASP ASVS 2.8.4).
 * Returns false when this or a later step was already accepted (a replay).
 * @example if (!(await claimTotpStep(db, userId, step))) refuseAsReplay();
 */
export async function claimTotpStep(db: Kysely<Database>, userId: number, step: number, nowMs: number): Promise<boolean> {
  const result = await db
    .updateTable('two_factor_auth')
    .set({ last_used_totp_step: step, updated_at_ms: nowMs })
    .where('user_id', '=', userId)
    .where((eb) => eb.or([eb('last_used_totp_step', 'is', null), eb('last_used_totp_step', '<', step)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
