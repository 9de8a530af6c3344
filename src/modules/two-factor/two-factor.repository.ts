import type { AppDb } from '../../db/database.ts';
import { parseDbTimestamp } from '../../lib/db-timestamp.ts';
import { SecretBox } from '../../lib/secret-box.ts';
import { parseBackupCodeHashes } from './consume-backup-code.ts';

/** A user's two_factor_auth row, decoded (the secret stays as stored until {@link TwoFactorRepository.revealSecret}). */
export interface TwoFactorRecord {
  id: number;
  userId: number;
  /** The stored value: an encryption envelope, or a plain base32 secret left by the earlier Flask app. */
  storedSecret: string;
  enabled: boolean;
  /** argon2id hashes of the unused backup codes (legacy entries in other formats are left out: they can never match). */
  backupCodeHashes: string[];
  createdAt: Date | null;
  lastUsedTotpStep: number | null;
  failedAttempts: number;
  lockedUntilMs: number | null;
  lockoutCount: number;
}

/**
 * A legacy plain base32 secret (normally 32 characters, 160 bits), maybe lowercase or padded; 16–128 characters, the
 * same bounds as migration 0006 (which encrypts such secrets), so a row it left alone is still readable here.
 */
const LEGACY_SECRET = /^[A-Za-z2-7]{16,128}=*$/;

/** Reads a user's two_factor_auth row, decoded, or null when the user never started set-up (needs no key ring). */
export async function readTwoFactorRecord(db: AppDb, userId: number): Promise<TwoFactorRecord | null> {
  const row = await db
    .selectFrom('two_factor_auth')
    .select(['id', 'user_id', 'secret', 'enabled', 'backup_codes', 'created_at', 'last_used_totp_step', 'failed_attempts', 'locked_until_ms', 'lockout_count'])
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (!row) return null;
  return {
    id: Number(row.id),
    userId: Number(row.user_id),
    storedSecret: row.secret,
    // SQLite answers 0/1, PostgreSQL false/true.
    enabled: Boolean(Number(row.enabled)),
    backupCodeHashes: parseBackupCodeHashes(row.backup_codes),
    // Legacy rows may hold any timestamp text; an unreadable one shows as unknown instead of failing the page.
    createdAt: parseDbTimestamp(row.created_at),
    lastUsedTotpStep: row.last_used_totp_step === null ? null : Number(row.last_used_totp_step),
    failedAttempts: Number(row.failed_attempts ?? 0),
    lockedUntilMs: row.locked_until_ms === null ? null : Number(row.locked_until_ms),
    lockoutCount: Number(row.lockout_count ?? 0),
  };
}

/**
 * Reads and writes the two_factor_auth row; secrets are encrypted with SecretBox on the way in (OWASP ASVS 6.2.x)
 * and decrypted only on request.
 * @example const record = await new TwoFactorRepository(db, secretBox).findByUserId(user.id);
 */
export class TwoFactorRepository {
  constructor(
    private readonly db: AppDb,
    private readonly secretBox: SecretBox,
  ) {}

  /** Reads a user's row, or null when the user never started set-up. */
  findByUserId(userId: number): Promise<TwoFactorRecord | null> {
    return readTwoFactorRecord(this.db, userId);
  }

  /** Returns the base32 secret: decrypts an envelope, or accepts a legacy plain base32 secret; throws on anything else. */
  revealSecret(record: Pick<TwoFactorRecord, 'storedSecret'>): string {
    const stored = record.storedSecret;
    if (SecretBox.isEnvelope(stored)) return this.secretBox.decrypt(stored);
    if (LEGACY_SECRET.test(stored)) return stored.replace(/=+$/, '').toUpperCase();
    throw new Error('two_factor_auth.secret is neither an encryption envelope nor a base32 secret');
  }

  /**
   * Creates the row, or replaces the secret of a not-yet-enabled one, in one statement; returns false (and changes
   * nothing) when 2FA is already enabled for the user.
   */
  async savePendingSecret(userId: number, secretBase32: string, nowMs: number): Promise<boolean> {
    const secret = this.secretBox.encrypt(secretBase32);
    const result = await this.db
      .insertInto('two_factor_auth')
      .values({ user_id: userId, secret, enabled: 0, backup_codes: null, last_used_totp_step: null, updated_at_ms: nowMs })
      .onConflict((oc) =>
        oc
          .column('user_id')
          .doUpdateSet({ secret, backup_codes: null, last_used_totp_step: null, updated_at_ms: nowMs })
          .where('two_factor_auth.enabled', '=', 0),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  /**
   * Sets enabled and stores the backup-code hashes, but only if the row still holds `storedSecret` and is not enabled
   * (compare-and-swap against a concurrent set-up); returns whether it did. Pass a transaction as `db` to combine.
   */
  async markEnabled(userId: number, storedSecret: string, backupCodeHashes: readonly string[], nowMs: number, db: AppDb = this.db): Promise<boolean> {
    const result = await db
      .updateTable('two_factor_auth')
      .set({ enabled: 1, backup_codes: JSON.stringify(backupCodeHashes), failed_attempts: 0, updated_at_ms: nowMs })
      .where('user_id', '=', userId)
      .where('enabled', '=', 0)
      .where('secret', '=', storedSecret)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
