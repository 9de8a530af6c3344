import type { AppDb } from '../../db/database.ts';
import { dummyHash, verifySecret } from '../../lib/password-hash.ts';

/**
 * Re-authentication before a sensitive change (adding a passkey): whether `password` is the signed-in user's password
 * (OWASP ASVS 2.7/3.7.1: re-authenticate before changing authenticators). Hashes against a dummy when the user is gone, so
 * both refusals cost the same. A local check, meant to be replaced by the shared re-authentication module.
 * @example if (!(await confirmPassword(db, user.id, body.password))) throw new AppError('invalid_credentials');
 */
export async function confirmPassword(db: AppDb, userId: number, password: string): Promise<boolean> {
  const row = await db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirst();
  const ok = await verifySecret(row?.password_hash ?? (await dummyHash()), password);
  return ok && row !== undefined;
}
