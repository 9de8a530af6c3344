import type { Selectable } from 'kysely';
import type { TwoFactorAuthTable } from '../../db/database.ts';
import { parseDbTimestamp } from '../../lib/db-timestamp.ts';
import { isLegacyPasswordHash } from '../../lib/werkzeug-hash.ts';

/** A user's two_factor_auth row, decoded (the secret stays as stored until {@link TwoFactorRepository.revealSecret}). */
export interface TwoFactorRecord {
  id: number;
  userId: number;
  /** The stored value: an encryption envelope, or a plain base32 secret left by the earlier Flask app. */
  storedSecret: string;
  enabled: boolean;
  /** Hashes of the unused backup codes: argon2id, or werkzeug hashes of the Flask app's codes (other entries are left out: they can never match). */
  backupCodeHashes: string[];
  /** The backup_codes column exactly as stored: what a compare-and-swap on the list compares with. */
  storedBackupCodes: string | null;
  createdAt: Date | null;
  lastUsedTotpStep: number | null;
  /** Attempts reserved (counted before they were verified) in the current lockout cycle; the `failed_attempts` column. */
  reservedAttempts: number;
  lockedUntilMs: number | null;
  lockoutCount: number;
}

/** The columns {@link decodeTwoFactorRow} reads: every query that loads a whole record selects exactly these. */
export const TWO_FACTOR_COLUMNS = [
  'id',
  'user_id',
  'secret',
  'enabled',
  'backup_codes',
  'created_at',
  'last_used_totp_step',
  'failed_attempts',
  'locked_until_ms',
  'lockout_count',
] as const satisfies ReadonlyArray<keyof TwoFactorAuthTable>;

/** A two_factor_auth row as the driver returns {@link TWO_FACTOR_COLUMNS}. */
export type TwoFactorRow = Pick<Selectable<TwoFactorAuthTable>, (typeof TWO_FACTOR_COLUMNS)[number]>;

/** Null for SQL NULL, else the number (PostgreSQL may hand bigint columns over as strings). */
export function numberOrNull(value: number | string | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/**
 * The one decoder of a two_factor_auth row: engine differences (0/1 vs false/true, bigint as text) and legacy data
 * (other timestamp texts, Flask-era backup-code hashes) are settled here and nowhere else.
 * @example const record = decodeTwoFactorRow(await db.selectFrom('two_factor_auth').select(TWO_FACTOR_COLUMNS)…)
 */
export function decodeTwoFactorRow(row: TwoFactorRow): TwoFactorRecord {
  return {
    id: Number(row.id),
    userId: Number(row.user_id),
    storedSecret: row.secret,
    // SQLite answers 0/1, PostgreSQL false/true.
    enabled: Boolean(Number(row.enabled)),
    backupCodeHashes: parseBackupCodeHashes(row.backup_codes),
    storedBackupCodes: row.backup_codes,
    // Legacy rows may hold any timestamp text; an unreadable one shows as unknown instead of failing the page.
    createdAt: parseDbTimestamp(row.created_at),
    lastUsedTotpStep: numberOrNull(row.last_used_totp_step),
    reservedAttempts: Number(row.failed_attempts ?? 0),
    lockedUntilMs: numberOrNull(row.locked_until_ms),
    lockoutCount: Number(row.lockout_count ?? 0),
  };
}

/**
 * Parses the backup_codes column (JSON array of hashes), failing closed: anything else counts as no codes. Kept are
 * crew's argon2 hashes and the werkzeug hashes the Flask app stored for its codes (issue 7: an adopted user's old codes
 * keep working, each once); any other entry is dropped, since no code can ever match it.
 * @example parseBackupCodeHashes('["$argon2id$…", "pbkdf2:sha256:260000$…"]').length === 2
 */
export function parseBackupCodeHashes(stored: string | null | undefined): string[] {
  if (typeof stored !== 'string' || stored === '') return [];
  try {
    const parsed: unknown = JSON.parse(stored);
    return Array.isArray(parsed) ? parsed.filter((h): h is string => typeof h === 'string' && (h.startsWith('$argon2') || isLegacyPasswordHash(h))) : [];
  } catch {
    return [];
  }
}

/** Whether a list of backup-code hashes holds a werkzeug one: only then is a code of the Flask app's shape worth checking. */
export function hasLegacyBackupCodes(hashes: readonly string[]): boolean {
  return hashes.some((hash) => !hash.startsWith('$argon2'));
}

/** The user's two_factor_auth columns as joinTwoFactorRow (two-factor.repository.ts) selects them: `tfa_<column>`, all null without a row. */
export type JoinedTwoFactorRow = { [K in keyof TwoFactorRow as `tfa_${K}`]: TwoFactorRow[K] | null };

/** Decodes the columns joinTwoFactorRow added (through the one decoder), or null when the user has no row. */
export function twoFactorFromJoin(row: JoinedTwoFactorRow): TwoFactorRecord | null {
  // id, user_id and secret are NOT NULL in the table, so null here means the join found no row.
  if (row.tfa_id === null || row.tfa_user_id === null || row.tfa_secret === null) return null;
  return decodeTwoFactorRow({
    id: row.tfa_id,
    user_id: row.tfa_user_id,
    secret: row.tfa_secret,
    enabled: row.tfa_enabled ?? false,
    backup_codes: row.tfa_backup_codes,
    created_at: row.tfa_created_at as TwoFactorRow['created_at'], // a legacy row may hold NULL; the decoder shows it as unknown
    last_used_totp_step: row.tfa_last_used_totp_step,
    failed_attempts: row.tfa_failed_attempts ?? 0,
    locked_until_ms: row.tfa_locked_until_ms,
    lockout_count: row.tfa_lockout_count ?? 0,
  });
}
