import { revokeRememberedDevices } from '../remembered-devices/remembered-devices.ts';
import { PasskeyRepository } from '../passkeys/passkey.repository.ts';
import type { Config } from '../../config.ts';
import type { AppDb } from '../../db/database.ts';
import { AppError } from '../../lib/app-error.ts';
import type { Clock } from '../../lib/clock.ts';
import { dummyHash, verifySecret } from '../../lib/password-hash.ts';
import type { RandomSource } from '../../lib/random.ts';
import { recordSecurityEvent, type RequestMeta } from '../audit/security-events.ts';
import { destroyUserSessions } from '../sessions/session.service.ts';
import { MAX_PASSWORD_INPUT_LENGTH } from '../users/password-policy.ts';
import { UsersRepository } from '../users/users.repository.ts';
import { generateBackupCodes, hashBackupCodes } from './backup-codes.ts';
import { assertMayDisableTwoFactor } from './require-two-factor.ts';
import { verifySecondFactor, type SecondFactorDeps } from './second-factor-pipeline.ts';
import type { SecondFactorFailure } from './second-factor-result.ts';
import { statusOf, type TwoFactorStatus } from './two-factor-status.ts';
import type { TwoFactorRepository } from './two-factor.repository.ts';

/** What the management services need: the pipeline's deps plus a CSPRNG for new backup codes. */
export interface TwoFactorManagementDeps extends SecondFactorDeps {
  random: RandomSource;
}

/** What the operator commands need: the database, the clock and the repository (no key ring: no secret is read). */
export interface OperatorDeps {
  db: AppDb;
  clock: Clock;
  twoFactor: TwoFactorRepository;
}

export type { TwoFactorStatus } from './two-factor-status.ts';

/** What {@link disableTwoFactor} needs besides the input: the CREW_REQUIRE_2FA policy, the user's role, the session to keep. */
export interface DisableTwoFactorOptions {
  require2fa: Config['require2fa'];
  role: string;
  /** The session making the change, which stays signed in; every other session of the user is ended. */
  keepSessionId?: string;
}

const OPERATOR_META: RequestMeta = { ip: null, userAgent: 'crew cli' };

/**
 * Issues 10 new backup codes after a valid TOTP code (backup codes are not accepted here, so a leaked backup code cannot
 * mint more), replacing the old hashes in one write so every old code stops working; the plain codes are returned once.
 * A refused code is the pipeline's failure result (the HTTP layer maps it to an answer).
 */
export async function regenerateBackupCodes(
  deps: TwoFactorManagementDeps,
  userId: number,
  code: unknown,
  meta: RequestMeta,
): Promise<{ ok: true; backupCodes: string[] } | SecondFactorFailure> {
  const result = await verifySecondFactor(deps, userId, code, meta, { purpose: 'regenerate_backup_codes', acceptBackupCode: false });
  if (!result.ok) return result;
  const backupCodes = generateBackupCodes(deps.random);
  // Stored only as salted argon2id hashes (NIST SP 800-63B §5.1.2.2). Overwriting the column makes any in-flight
  // compare-and-swap on the old list lose, so an old code cannot be consumed after this point.
  const hashes = await hashBackupCodes(backupCodes);
  const at = deps.clock.now();
  await deps.twoFactor.replaceBackupCodes(userId, hashes, at.getTime());
  await recordSecurityEvent(deps.db, { userId, type: 'backup_codes_regenerated', meta, detail: { count: backupCodes.length }, at });
  return { ok: true, backupCodes };
}

/**
 * Turns two-factor authentication off after the account password AND a valid code (TOTP or backup code), deleting the
 * two_factor_auth row so the secret and backup-code hashes are gone (OWASP ASVS 2.8.x / V3: re-authenticate before
 * changing authenticators). Password and code are ONE attempt of the pipeline: counted before either is checked, so a
 * wrong password counts toward the lockout like a wrong code. Throws AppError forbidden (403) first when CREW_REQUIRE_2FA
 * covers the user, invalid_input (400) without a password; on success signs out every other session of the user.
 */
export async function disableTwoFactor(
  deps: SecondFactorDeps,
  userId: number,
  input: { password: unknown; code: unknown },
  meta: RequestMeta,
  options: DisableTwoFactorOptions,
): Promise<{ ok: true; twoFactor: { enabled: false } } | SecondFactorFailure> {
  // The policy comes first: no password or code is checked (or counted) for a factor that may not be removed.
  assertMayDisableTwoFactor(options, options);
  const { password } = input;
  if (typeof password !== 'string' || password.length === 0 || password.length > MAX_PASSWORD_INPUT_LENGTH) {
    throw new AppError('invalid_input', 'Enter your password and a code.');
  }
  const passwordMatches = async () => {
    const user = await deps.db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirst();
    return (await verifySecret(user?.password_hash ?? (await dummyHash()), password)) && user !== undefined;
  };
  const result = await verifySecondFactor(deps, userId, input.code, meta, { purpose: 'disable', password: passwordMatches });
  if (!result.ok) return result;
  await deps.twoFactor.delete(userId);
  await recordSecurityEvent(deps.db, { userId, type: 'two_factor_disabled', meta, detail: { method: result.method }, at: deps.clock.now() });
  // A device remembered to skip the code must not outlive the code (NIST SP 800-63B §6.1.2.1: bindings end with the authenticator).
  await revokeRememberedDevices(deps, userId, 'two_factor_disabled', meta);
  // Other devices signed in with the second factor lose it with this change: sign them out (OWASP ASVS 3.3.3).
  await destroyUserSessions(deps.db, userId, options.keepSessionId);
  return { ok: true, twoFactor: { enabled: false } };
}

/** The user an operator named (case-insensitively), with the username as stored; throws AppError not_found. */
async function requireUser(db: AppDb, username: string): Promise<{ id: number; username: string }> {
  const user = typeof username === 'string' ? await new UsersRepository(db).findByUsername(username) : null;
  if (!user) throw new AppError('not_found', `No user named ${JSON.stringify(String(username))}.`);
  return { id: user.id, username: user.username };
}

/**
 * `crew 2fa reset USER`: deletes the user's two_factor_auth row and passkeys (secret, backup codes, counters and any lockout), so the
 * user signs in with the password alone and may enrol again, and signs out all the user's sessions (none is kept; the
 * CREW_REQUIRE_2FA rule does not apply to operators); records 'two_factor_reset_by_operator'. Throws AppError not_found.
 * @example const { removed } = await resetTwoFactorByOperator({ db, clock, twoFactor }, 'alice');
 */
export async function resetTwoFactorByOperator(
  deps: OperatorDeps,
  username: string,
): Promise<{ userId: number; username: string; removed: boolean; passkeysRemoved: number; sessionsEnded: number }> {
  const { id: userId, username: storedName } = await requireUser(deps.db, username);
  const totpRemoved = await deps.twoFactor.delete(userId);
  // Passkeys are second factors too: a reset (lost phone, lost laptop) removes them all, so the user starts afresh.
  const passkeysRemoved = await new PasskeyRepository(deps.db).removeAllForUser(userId);
  const removed = totpRemoved || passkeysRemoved > 0;
  await recordSecurityEvent(deps.db, { userId, type: 'two_factor_reset_by_operator', meta: OPERATOR_META, detail: { removed: totpRemoved, passkeysRemoved }, at: deps.clock.now() });
  if (passkeysRemoved > 0) await recordSecurityEvent(deps.db, { userId, type: 'passkeys_removed_by_operator', meta: OPERATOR_META, detail: { count: passkeysRemoved }, at: deps.clock.now() });
  await revokeRememberedDevices(deps, userId, 'two_factor_reset', OPERATOR_META);
  // Sessions that were signed in with the old factor end too (OWASP ASVS 3.3.3).
  const sessionsEnded = removed ? await destroyUserSessions(deps.db, userId) : 0;
  return { userId, username: storedName, removed, passkeysRemoved, sessionsEnded };
}

/** A user's two-factor status ({@link statusOf} of the row now): enabled, set-up date, backup codes left, any lockout. */
export async function getTwoFactorStatus(deps: Pick<OperatorDeps, 'clock' | 'twoFactor'>, userId: number): Promise<TwoFactorStatus> {
  return statusOf(await deps.twoFactor.findByUserId(userId), deps.clock.now().getTime());
}

/** `crew 2fa status USER`: {@link getTwoFactorStatus} by username, with the user's id and name; throws AppError not_found. */
export async function getTwoFactorStatusByUsername(deps: OperatorDeps, username: string): Promise<TwoFactorStatus & { userId: number; username: string }> {
  const user = await requireUser(deps.db, username);
  return { userId: user.id, username: user.username, ...(await getTwoFactorStatus(deps, user.id)) };
}
