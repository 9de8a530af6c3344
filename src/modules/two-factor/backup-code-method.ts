import { findBackupCode, findLegacyBackupCode, normalizeBackupCode } from './backup-codes.ts';
import type { SecondFactorMethod } from './second-factor-method.ts';
import { parseBackupCodeHashes } from './two-factor-record.ts';

/**
 * Compare-and-swap rounds lost in a row before giving up. Each lost round means another request changed the list (used a
 * code, or replaced them all), so with 10 codes this is never reached in practice; it only bounds a broken database.
 */
export const BACKUP_CODE_CAS_MAX_ROUNDS = 25;

/**
 * The backup-code step of the pipeline: find the code's hash (argon2id against every stored hash, no early exit), then
 * remove exactly that hash by compare-and-swap on the whole list, re-reading after a lost race and looking the matched
 * hash up again by string (no second KDF run), so concurrent requests with one code, on any number of instances,
 * consume it once (NIST SP 800-63B §5.1.2.2: a look-up secret is used successfully only once).
 */
export const backupCodeMethod: SecondFactorMethod = {
  async verifyAndClaim(twoFactor, attempt, code) {
    const { userId, record } = attempt;
    let stored = record.storedBackupCodes;
    let hashes = record.backupCodeHashes;
    // A code of crew's shape is looked up as crew's; any other that reached here has the Flask app's shape (the
    // classifier let it through only for a user with werkzeug-hashed codes) and is checked against those.
    const index = normalizeBackupCode(code) !== null ? await findBackupCode(hashes, code) : await findLegacyBackupCode(hashes, code);
    if (index < 0 || stored === null) return { outcome: 'invalid' };
    const matched = hashes[index]!;
    for (let round = 0; round < BACKUP_CODE_CAS_MAX_ROUNDS; round++) {
      const remaining = hashes.filter((hash) => hash !== matched);
      if (await twoFactor.claimBackupCode(userId, stored, remaining, attempt.at.getTime())) return { outcome: 'claimed', backupCodesRemaining: remaining.length };
      // Lost the race: the list changed between the read and the write. Look again.
      stored = await twoFactor.readStoredBackupCodes(userId);
      hashes = parseBackupCodeHashes(stored);
      if (stored === null || !hashes.includes(matched)) return { outcome: 'invalid' }; // used meanwhile, or regenerated
    }
    throw new Error(`backup code claim lost ${BACKUP_CODE_CAS_MAX_ROUNDS} compare-and-swap rounds in a row for user ${userId}`);
  },
};
