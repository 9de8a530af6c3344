import type { SelectQueryBuilder } from 'kysely';
import type { AppDb, Database } from '../../db/database.ts';
import { prepareQuery } from '../../db/prepared-query.ts';
import { SecretBox } from '../../lib/secret-box.ts';
import { reservationUpdate } from './account-lockout.ts';
import { decodeTwoFactorRow, TWO_FACTOR_COLUMNS, type TwoFactorRecord } from './two-factor-record.ts';

/**
 * A legacy plain base32 secret (normally 32 characters, 160 bits), maybe lowercase or padded; 16–128 characters, the
 * same bounds as migration 0006 (which encrypts such secrets), so a row it left alone is still readable here.
 */
const LEGACY_SECRET = /^[A-Za-z2-7]{16,128}=*$/;

/** The counters a verified code resets: the owner has shown up, so the lockout doubling starts over (our documented choice). */
const RESET_COUNTERS = { failed_attempts: 0, lockout_count: 0, locked_until_ms: null } as const;

/**
 * The statements of every second-factor check, compiled once per repository (see prepareQuery): building and compiling
 * them with Kysely on every call cost more CPU than SQLite spent running them (docs/PERFORMANCE.md).
 */
function hotStatements(db: AppDb) {
  return {
    reserveAttempt: prepareQuery(['user_id', 'now_ms'], (p) =>
      db.updateTable('two_factor_auth').set(reservationUpdate(p('now_ms'))).where('user_id', '=', p('user_id')).where('enabled', '=', 1).returning(TWO_FACTOR_COLUMNS),
    ),
    claimTotpStep: prepareQuery(['user_id', 'step', 'now_ms'], (p) =>
      db
        .updateTable('two_factor_auth')
        .set({ last_used_totp_step: p('step'), ...RESET_COUNTERS, updated_at_ms: p('now_ms') })
        .where('user_id', '=', p('user_id'))
        .where((eb) => eb.or([eb('last_used_totp_step', 'is', null), eb('last_used_totp_step', '<', p('step'))])),
    ),
    claimBackupCode: prepareQuery(['user_id', 'stored_before', 'remaining', 'now_ms'], (p) =>
      db
        .updateTable('two_factor_auth')
        .set({ backup_codes: p('remaining'), ...RESET_COUNTERS, updated_at_ms: p('now_ms') })
        .where('user_id', '=', p('user_id'))
        .where('backup_codes', '=', p('stored_before')),
    ),
  };
}

/**
 * The only home of SQL on the two_factor_auth table: every read decodes through {@link decodeTwoFactorRow}, every
 * write that races is a single compare-and-swap statement. Secrets are encrypted with SecretBox on the way in (OWASP
 * ASVS 6.2.x) and decrypted only on request. Built once per app (or per CLI command), never per call.
 * @example const twoFactor = new TwoFactorRepository(db, secretBox); const record = await twoFactor.findByUserId(user.id);
 */
export class TwoFactorRepository {
  #hot: ReturnType<typeof hotStatements> | undefined;

  /** `secretBox` may be left out where no secret is ever read or written (operator status and reset). */
  constructor(
    private readonly db: AppDb,
    private readonly secretBox?: SecretBox,
  ) {}

  /** Reads a user's row, or null when the user never started set-up (needs no key ring). */
  async findByUserId(userId: number): Promise<TwoFactorRecord | null> {
    const row = await this.db.selectFrom('two_factor_auth').select(TWO_FACTOR_COLUMNS).where('user_id', '=', userId).executeTakeFirst();
    return row ? decodeTwoFactorRow(row) : null;
  }

  /** Returns the base32 secret: decrypts an envelope, or accepts a legacy plain base32 secret; throws on anything else. */
  revealSecret(record: Pick<TwoFactorRecord, 'storedSecret'>): string {
    const stored = record.storedSecret;
    if (SecretBox.isEnvelope(stored)) return this.#box().decrypt(stored);
    if (LEGACY_SECRET.test(stored)) return stored.replace(/=+$/, '').toUpperCase();
    throw new Error('two_factor_auth.secret is neither an encryption envelope nor a base32 secret');
  }

  /**
   * Creates the row, or replaces the secret of a not-yet-enabled one, in one statement; returns false (and changes
   * nothing) when 2FA is already enabled for the user.
   */
  async savePendingSecret(userId: number, secretBase32: string, nowMs: number): Promise<boolean> {
    const secret = this.#box().encrypt(secretBase32);
    const result = await this.db
      .insertInto('two_factor_auth')
      .values({ user_id: userId, secret, enabled: 0, backup_codes: null, last_used_totp_step: null, updated_at_ms: nowMs })
      .onConflict((oc) =>
        oc.column('user_id').doUpdateSet({ secret, backup_codes: null, last_used_totp_step: null, updated_at_ms: nowMs }).where('two_factor_auth.enabled', '=', 0),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  /** When the not-yet-enabled set-up of a user was started (its updated_at_ms), or null when there is none. */
  async pendingSetupStartedAtMs(userId: number): Promise<number | null> {
    const row = await this.db.selectFrom('two_factor_auth').select('updated_at_ms').where('user_id', '=', userId).where('enabled', '=', 0).executeTakeFirst();
    return row?.updated_at_ms === null || row?.updated_at_ms === undefined ? null : Number(row.updated_at_ms);
  }

  /**
   * Enables 2FA in one compare-and-swap: only if the row still holds `storedSecret`, is not enabled, and `step` is newer
   * than the last accepted one (RFC 6238 §5.2: the enrolment code cannot be used again); stores the backup-code hashes.
   * Pass a transaction as `db` to combine it with the audit row.
   */
  async enable(userId: number, change: { storedSecret: string; step: number; backupCodeHashes: readonly string[]; nowMs: number }, db: AppDb = this.db): Promise<boolean> {
    const result = await db
      .updateTable('two_factor_auth')
      .set({ enabled: 1, backup_codes: JSON.stringify(change.backupCodeHashes), last_used_totp_step: change.step, ...RESET_COUNTERS, updated_at_ms: change.nowMs })
      .where('user_id', '=', userId)
      .where('enabled', '=', 0)
      .where('secret', '=', change.storedSecret)
      .where((eb) => eb.or([eb('last_used_totp_step', 'is', null), eb('last_used_totp_step', '<', change.step)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Counts one attempt before anything is verified, in ONE statement (see reservationUpdate in account-lockout.ts) that
   * also returns the row as it left it; undefined when the user has no enabled 2FA. Read the answer with
   * reserveAccountAttempt (second-factor-pipeline.ts), never directly.
   */
  async reserveAttempt(userId: number, nowMs: number) {
    const [row] = (await this.db.executeQuery(this.#statements().reserveAttempt.bind({ user_id: userId, now_ms: nowMs }))).rows;
    return row;
  }

  /**
   * Gives back a reservation whose code was never verified (its secret could not be decrypted: an operator error), so
   * a broken key ring locks nobody out: one slot back, or the lock it imposed lifted if it is still the one in force.
   */
  async releaseAttempt(userId: number, attempt: { attemptNumber: number; imposedLockUntilMs: number | null }, nowMs: number): Promise<void> {
    let query = this.db.updateTable('two_factor_auth').where('user_id', '=', userId);
    if (attempt.imposedLockUntilMs !== null) {
      query = query
        .set((eb) => ({ failed_attempts: attempt.attemptNumber - 1, locked_until_ms: null, lockout_count: eb('lockout_count', '-', 1), updated_at_ms: nowMs }))
        .where('locked_until_ms', '=', attempt.imposedLockUntilMs);
    } else {
      query = query.set((eb) => ({ failed_attempts: eb('failed_attempts', '-', 1), updated_at_ms: nowMs })).where('failed_attempts', '>=', 1);
    }
    await query.execute();
  }

  /**
   * Records `step` as the last accepted TOTP time step by compare-and-swap, so a code is accepted at most once across
   * every app instance (RFC 6238 §5.2, OWASP ASVS 2.8.4), and in the same statement resets the attempt counters.
   * Returns false, changing nothing, when this or a later step was already accepted (a replay).
   */
  async claimTotpStep(userId: number, step: number, nowMs: number): Promise<boolean> {
    const result = await this.db.executeQuery(this.#statements().claimTotpStep.bind({ user_id: userId, step, now_ms: nowMs }));
    return Number(result.numAffectedRows) === 1;
  }

  /**
   * Replaces the stored backup-code list by `remaining` only if it still is exactly `storedBefore` (compare-and-swap,
   * NIST SP 800-63B §5.1.2.2: a look-up secret is used successfully once), resetting the attempt counters in the same
   * statement; false when another request changed the list first.
   */
  async claimBackupCode(userId: number, storedBefore: string, remaining: readonly string[], nowMs: number): Promise<boolean> {
    const query = this.#statements().claimBackupCode.bind({ user_id: userId, stored_before: storedBefore, remaining: JSON.stringify(remaining), now_ms: nowMs });
    return Number((await this.db.executeQuery(query)).numAffectedRows) === 1;
  }

  /** The stored backup_codes text as it is now (after a lost compare-and-swap), or null. */
  async readStoredBackupCodes(userId: number): Promise<string | null> {
    const row = await this.db.selectFrom('two_factor_auth').select('backup_codes').where('user_id', '=', userId).executeTakeFirst();
    return row?.backup_codes ?? null;
  }

  /** When the user's lockout ends (null when none was ever imposed or the row is gone); a lock may have ended already. */
  async readLockedUntilMs(userId: number): Promise<number | null> {
    const row = await this.db.selectFrom('two_factor_auth').select('locked_until_ms').where('user_id', '=', userId).executeTakeFirst();
    return row?.locked_until_ms === null || row?.locked_until_ms === undefined ? null : Number(row.locked_until_ms);
  }

  /** Overwrites the backup-code hashes in one write, so every old code stops working (any in-flight claim on them loses). */
  async replaceBackupCodes(userId: number, hashes: readonly string[], nowMs: number): Promise<void> {
    await this.db.updateTable('two_factor_auth').set({ backup_codes: JSON.stringify(hashes), updated_at_ms: nowMs }).where('user_id', '=', userId).execute();
  }

  /** Deletes the row (secret, backup-code hashes, counters and any lockout); returns whether there was one. */
  async delete(userId: number): Promise<boolean> {
    const result = await this.db.deleteFrom('two_factor_auth').where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /**
   * How many stored secrets each key id encrypted (`null`: a legacy plain secret not yet encrypted), read by a portable
   * `substr` on the envelope header `v1.<keyId>.` (needs no key ring).
   */
  async countSecretsByKeyId(): Promise<Array<{ keyId: string | null; count: number }>> {
    const rows = await this.db
      .selectFrom('two_factor_auth')
      .select((eb) => [
        eb.case().when('secret', 'like', 'v1.%').then(eb.fn<string>('substr', ['secret', eb.val(4), eb.val(8)])).else(null).end().as('key_id'),
        eb.fn.countAll<number | string>().as('count'),
      ])
      .where('secret', 'is not', null)
      .groupBy('key_id')
      .execute();
    return rows.map((r) => ({ keyId: r.key_id ?? null, count: Number(r.count) })).sort((a, b) => b.count - a.count);
  }

  /** One batch of stored secrets NOT under `keyId` (plain legacy ones included), after row id `afterId`, in id order. */
  async secretsNotUnderKey(keyId: string, afterId: number, limit: number): Promise<Array<{ id: number; storedSecret: string }>> {
    const rows = await this.db
      .selectFrom('two_factor_auth')
      .select(['id', 'secret'])
      .where('id', '>', afterId)
      .where('secret', 'is not', null)
      .where('secret', 'not like', `v1.${keyId}.%`)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: Number(r.id), storedSecret: r.secret }));
  }

  /**
   * Re-encrypts one row's secret by compare-and-swap: writes `secretBox.encrypt(reveal(stored))` only if the row still
   * holds `storedSecret`, so a concurrent re-enrolment is never overwritten with an older secret. False when it lost.
   */
  async reencryptSecret(row: { id: number; storedSecret: string }): Promise<boolean> {
    const next = this.#box().encrypt(this.revealSecret(row));
    const result = await this.db.updateTable('two_factor_auth').set({ secret: next }).where('id', '=', row.id).where('secret', '=', row.storedSecret).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** The hot statements, compiled on first use (a repository built for an operator command may never need them). */
  #statements(): ReturnType<typeof hotStatements> {
    return (this.#hot ??= hotStatements(this.db));
  }

  #box(): SecretBox {
    if (!this.secretBox) throw new TypeError('this TwoFactorRepository was built without a key ring');
    return this.secretBox;
  }
}

/**
 * Adds the user's two_factor_auth row (LEFT JOIN on users.id) to a read of a session and its user, so a signed-in
 * request costs one query; read the result back with twoFactorFromJoin (two-factor-record.ts).
 * @example db.selectFrom('sessions').innerJoin('users', 'users.id', 'sessions.user_id').select([…]).$call(joinTwoFactorRow)
 */
export function joinTwoFactorRow<O>(qb: SelectQueryBuilder<Database, 'sessions' | 'users', O>) {
  return qb
    .leftJoin('two_factor_auth as tfa', 'tfa.user_id', 'users.id')
    .select([
      'tfa.id as tfa_id',
      'tfa.user_id as tfa_user_id',
      'tfa.secret as tfa_secret',
      'tfa.enabled as tfa_enabled',
      'tfa.backup_codes as tfa_backup_codes',
      'tfa.created_at as tfa_created_at',
      'tfa.last_used_totp_step as tfa_last_used_totp_step',
      'tfa.failed_attempts as tfa_failed_attempts',
      'tfa.locked_until_ms as tfa_locked_until_ms',
      'tfa.lockout_count as tfa_lockout_count',
    ]);
}
