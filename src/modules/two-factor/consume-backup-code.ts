import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import { findBackupCode } from './backup-codes.ts';

/** Compare-and-swap rounds lost to concurrent changes before giving up (each round removes a code or regenerates, so this is never reached in practice). */
export const BACKUP_CODE_CAS_MAX_ROUNDS = 25;

/** Outcome of {@link consumeBackupCode}. */
export type BackupCodeConsumption = { consumed: true; backupCodesRemaining: number } | { consumed: false };

/**
 * Parses the backup_codes column (JSON array of argon2id hashes), failing closed: anything else counts as no codes, and
 * entries that are not argon2 hashes (left by the earlier Flask app, in its own format) are dropped, since none of our
 * codes can ever match them — adopted users should generate new backup codes.
 */
export function parseBackupCodeHashes(stored: string | null | undefined): string[] {
  if (typeof stored !== 'string' || stored === '') return [];
  try {
    const parsed: unknown = JSON.parse(stored);
    return Array.isArray(parsed) ? parsed.filter((h): h is string => typeof h === 'string' && h.startsWith('$argon2')) : [];
  } catch {
    return [];
  }
}

async function readStored(db: Kysely<Database>, userId: number): Promise<string | null> {
  const row = await db.selectFrom('two_factor_auth').select('backup_codes').where('user_id', '=', userId).executeTakeFirst();
  return row?.backup_codes ?? null;
}

/**
 * Uses up one backup code: finds its hash, then removes exactly that hash by compare-and-swap
 * (`UPDATE two_factor_auth SET backup_codes = :new WHERE user_id = :id AND backup_codes = :old`), re-reading and retrying
 * when another request changed the list first, so any number of concurrent requests with one code, on any number of
 * instances, consume it exactly once (NIST SP 800-63B §5.1.2.2: a look-up secret is used successfully only once).
 * @example const r = await consumeBackupCode(db, userId, 'k7m2q-ahx9v', clock.now().getTime()); if (r.consumed) r.backupCodesRemaining
 */
export async function consumeBackupCode(
  db: Kysely<Database>,
  userId: number,
  input: string,
  nowMs: number,
): Promise<BackupCodeConsumption> {
  let stored = await readStored(db, userId);
  let hashes = parseBackupCodeHashes(stored);
  const index = await findBackupCode(hashes, input); // argon2id verify of every hash, no early exit
  if (index < 0 || stored === null) return { consumed: false };
  // The matched hash string identifies the code; after a lost race it is looked up again by string equality
  // (stored values only, nothing derived from the user's input), which avoids re-running the KDF.
  const matched = hashes[index]!;
  for (let round = 0; round < BACKUP_CODE_CAS_MAX_ROUNDS; round++) {
    const position = hashes.indexOf(matched);
    if (position < 0 || stored === null) return { consumed: false }; // another request used it, or the codes were regenerated
    const remaining = hashes.filter((_, i) => i !== position);
    const result = await db
      .updateTable('two_factor_auth')
      .set({ backup_codes: JSON.stringify(remaining), updated_at_ms: nowMs })
      .where('user_id', '=', userId)
      .where('backup_codes', '=', stored)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 1) return { consumed: true, backupCodesRemaining: remaining.length };
    // Lost the race: someone changed the list between our read and our write. Re-read and try again.
    stored = await readStored(db, userId);
    hashes = parseBackupCodeHashes(stored);
  }
  throw new Error(`consumeBackupCode: lost ${BACKUP_CODE_CAS_MAX_ROUNDS} compare-and-swap rounds in a row for user ${userId}`);
}
