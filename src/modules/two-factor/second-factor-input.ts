import { normalizeBackupCode } from './backup-codes.ts';
import type { SecondFactorKind } from './second-factor-result.ts';

/** Longest code input even looked at; anything longer is malformed without further work (bounds hostile input). */
export const MAX_CODE_INPUT_LENGTH = 64;

/** A submitted second factor that could be right, normalised: the only input worth counting and verifying. */
export interface PlausibleSecondFactor {
  kind: SecondFactorKind;
  /** 6 ASCII digits for 'totp'; 10 symbols of the backup alphabet, lowercased, for 'backup_code'. */
  code: string;
}

/** What a submitted code looks like before any secret is touched. */
export type ClassifiedCode = PlausibleSecondFactor | { kind: 'malformed' };

/**
 * Sorts raw input into a plausible TOTP code (6 ASCII digits once spaces/dashes are removed), a plausible backup code
 * (normalises to 10 symbols of the backup alphabet) or malformed (anything else: non-strings, empty, longer than
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
  }
  return { kind: 'malformed' };
}
