import { legacyBackupCodeShape, normalizeBackupCode } from './backup-codes.ts';
import type { SecondFactorKind } from './second-factor-result.ts';
import { hasLegacyBackupCodes } from './two-factor-record.ts';
import type { TwoFactorRepository } from './two-factor.repository.ts';

/** Longest code input even looked at; anything longer is malformed without further work (bounds hostile input). */
export const MAX_CODE_INPUT_LENGTH = 64;

/** A submitted second factor that could be right, normalised: the only input worth counting and verifying. */
export interface PlausibleSecondFactor {
  kind: SecondFactorKind;
  /** 6 ASCII digits for 'totp'; 10 symbols of the backup alphabet, lowercased, for 'backup_code' (or, with `legacy`, the trimmed text). */
  code: string;
  /**
   * Set for a code of the earlier Flask app's shape (6–16 letters, digits, dashes): plausible only for a user whose
   * stored codes include werkzeug hashes, which {@link screenLegacyBackupCode} checks before anything is counted.
   */
  legacy?: true;
}

/** What a submitted code looks like before any secret is touched. */
export type ClassifiedCode = PlausibleSecondFactor | { kind: 'malformed' };

/**
 * Sorts raw input into a plausible TOTP code (6 ASCII digits once spaces/dashes are removed), a plausible backup code
 * (normalises to 10 symbols of the backup alphabet), a possible legacy backup code of the Flask app (`legacy`: 6–16
 * letters, digits, dashes; screened by {@link screenLegacyBackupCode} before it counts) or malformed (anything else: non-strings, empty, longer than
 * MAX_CODE_INPUT_LENGTH, 'abc', '1234567'). Pure: the first step of every second-factor check, before any database work,
 * since a malformed input can never match and teaches nothing (OWASP ASVS 5.1.3).
 * @example classifySecondFactorInput('123 456') // { kind: 'totp', code: '123456' }
 */
export function classifySecondFactorInput(code: unknown, options: { acceptBackupCode?: boolean } = {}): ClassifiedCode {
  if (typeof code !== 'string' || code.length === 0 || code.length > MAX_CODE_INPUT_LENGTH) return { kind: 'malformed' };
  const compact = code.replace(/[\s-]+/g, '');
  if (/^[0-9]{6}$/.test(compact)) return { kind: 'totp', code: compact };
  if (options.acceptBackupCode ?? true) {
    const backup = normalizeBackupCode(code);
    if (backup !== null) return { kind: 'backup_code', code: backup };
    const legacy = legacyBackupCodeShape(code);
    if (legacy !== null) return { kind: 'backup_code', code: legacy, legacy: true };
  }
  return { kind: 'malformed' };
}

/**
 * The step after classifying: a legacy-shaped code is plausible only for a user with 2FA enabled whose stored codes
 * include werkzeug hashes (an adopted Flask user, issue 7); for everyone else it stays malformed — refused uncounted,
 * nothing written (ASVS 5.1.3) — at the price of one read. Any other input passes through untouched, with no read.
 * @example const input = await screenLegacyBackupCode(twoFactor, userId, classifySecondFactorInput(code));
 */
export async function screenLegacyBackupCode(
  twoFactor: Pick<TwoFactorRepository, 'findByUserId'>,
  userId: number,
  input: ClassifiedCode,
): Promise<ClassifiedCode> {
  if (input.kind !== 'backup_code' || !input.legacy) return input;
  const record = await twoFactor.findByUserId(userId);
  return record?.enabled && hasLegacyBackupCodes(record.backupCodeHashes) ? input : { kind: 'malformed' };
}
