import { hashSecret, verifySecret } from '../../lib/password-hash.ts';
import { verifyWerkzeugHash } from '../../lib/werkzeug-hash.ts';
import type { RandomSource } from '../../lib/random.ts';

/**
 * The 31 lowercase letters and digits that cannot be confused with one another: no 0/o, 1/l/i.
 * (Only 31 such symbols exist, so characters are drawn by rejection sampling rather than 5-bit slicing.)
 */
export const BACKUP_CODE_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
/** Characters per backup code: 10 × log2(31) ≈ 49.5 bits, above our 40-bit target and NIST SP 800-63B §5.1.2.1's 20-bit floor for look-up secrets. */
export const BACKUP_CODE_LENGTH = 10;
/** Backup codes issued at a time. */
export const BACKUP_CODE_COUNT = 10;

const ALPHABET_SIZE = BACKUP_CODE_ALPHABET.length;
// Largest multiple of 31 below 256: bytes at or above it are discarded so every symbol is equally likely.
const REJECT_AT = 256 - (256 % ALPHABET_SIZE);
const VALID = new RegExp(`^[${BACKUP_CODE_ALPHABET}]{${BACKUP_CODE_LENGTH}}$`);

/** Draws one uniformly random code of BACKUP_CODE_LENGTH symbols. */
function randomCode(random: RandomSource): string {
  let code = '';
  while (code.length < BACKUP_CODE_LENGTH) {
    for (const byte of random.bytes(BACKUP_CODE_LENGTH + 4)) {
      if (byte >= REJECT_AT) continue; // rejection sampling: no modulo bias
      code += BACKUP_CODE_ALPHABET[byte % ALPHABET_SIZE];
      if (code.length === BACKUP_CODE_LENGTH) break;
    }
  }
  return code;
}

/**
 * Generates distinct one-time backup codes formatted `xxxxx-xxxxx` (NIST SP 800-63B §5.1.2 look-up secrets).
 * @example generateBackupCodes(systemRandom) // ['k7m2q-ahx9v', …] (10 codes)
 */
export function generateBackupCodes(random: RandomSource, count = BACKUP_CODE_COUNT): string[] {
  if (!Number.isInteger(count) || count < 1 || count > 100) throw new TypeError('backup code count must be 1..100');
  const codes = new Set<string>();
  while (codes.size < count) codes.add(randomCode(random));
  return [...codes].map((code) => `${code.slice(0, 5)}-${code.slice(5)}`);
}

/**
 * Normalises what a user typed — spaces and dashes removed, lowercased — and returns it, or null unless it is
 * exactly 10 symbols of the alphabet. Callers bound the input's length first (classifySecondFactorInput does).
 * @example normalizeBackupCode(' K7M2Q AHX9V ') === 'k7m2qahx9v'
 */
export function normalizeBackupCode(input: string): string | null {
  if (typeof input !== 'string') return null;
  const code = input.replace(/[\s-]+/g, '').toLowerCase();
  return VALID.test(code) ? code : null;
}

/**
 * Hashes each code's normalised form with argon2id, a salted KDF, so a database leak does not reveal usable codes
 * (NIST SP 800-63B §5.1.2.2: look-up secrets under 112 bits are stored as §5.1.1.2 salted KDF hashes); throws
 * TypeError for a string that is not a backup code.
 * @example const stored = JSON.stringify(await hashBackupCodes(codes));
 */
export async function hashBackupCodes(codes: readonly string[]): Promise<string[]> {
  return Promise.all(
    codes.map((code) => {
      const normalized = normalizeBackupCode(code);
      if (normalized === null) throw new TypeError('hashBackupCodes was given something that is not a backup code');
      return hashSecret(normalized);
    }),
  );
}

/**
 * Returns the index of the stored hash matching a typed backup code, or -1; every hash is verified (no early exit,
 * unlike `includes`) so timing does not reveal a code's position. The caller removes that hash by compare-and-swap.
 * @example const index = await findBackupCode(row.backupCodes, submitted);
 */
export async function findBackupCode(hashes: readonly string[], input: string): Promise<number> {
  const normalized = normalizeBackupCode(input);
  if (normalized === null) return -1;
  const results = await Promise.all(hashes.map((stored) => verifySecret(stored, normalized)));
  return results.indexOf(true);
}

/**
 * The shapes of code the earlier Flask app issued (8 hex digits, e.g. `5675f6ad`), with room for variants: 6–16
 * letters, digits and dashes. Only worth checking for a user whose stored list holds werkzeug hashes (issue 7).
 */
const LEGACY_BACKUP_CODE = /^[A-Za-z0-9-]{6,16}$/;

/**
 * Returns a typed code trimmed, as the Flask app compared it (werkzeug's check_password_hash on the exact text), when it
 * has a legacy shape, else null.
 * @example legacyBackupCodeShape(' 5675f6ad ') === '5675f6ad'
 */
export function legacyBackupCodeShape(input: string): string | null {
  if (typeof input !== 'string') return null;
  const code = input.trim();
  return LEGACY_BACKUP_CODE.test(code) ? code : null;
}

/**
 * Returns the index of the werkzeug hash (left by the Flask app) matching a legacy-shaped code, or -1; like
 * findBackupCode, every werkzeug hash is checked (no early exit), each in constant time with bounded cost
 * (verifyWerkzeugHash); crew's argon2id hashes are skipped, since no crew code has this shape.
 * @example const index = await findLegacyBackupCode(row.backupCodes, '5675f6ad');
 */
export async function findLegacyBackupCode(hashes: readonly string[], input: string): Promise<number> {
  const code = legacyBackupCodeShape(input);
  if (code === null) return -1;
  const results = await Promise.all(hashes.map((stored) => (stored.startsWith('$argon2') ? false : verifyWerkzeugHash(stored, code))));
  return results.indexOf(true);
}
