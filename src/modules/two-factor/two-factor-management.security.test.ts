// Threat: someone holding a signed-in session (a stolen cookie, an unattended browser) turns 2FA off or mints fresh
// backup codes to keep access, or old backup codes keep working after regeneration; and an operator reset that leaves
// secrets behind. Rule: changing authenticators needs a fresh valid second factor (and the password to disable), counted
// toward the same lockout; regeneration replaces every code; disable/reset delete the secret and hashes
// (NIST SP 800-63B §6.1.2 / §5.2.2, OWASP ASVS 2.8.x, V3 re-authentication).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../lib/app-error.ts';
import { createMigratedDatabase, TEST_DIALECTS } from '../../../test/helpers/test-database.ts';
import { GOOD_PASSWORD } from '../../../test/http/app-harness.ts';
import { countEvents, createEnabledUser, readTwoFactorRow, TEST_META, totpAt, wrongCode } from '../../../test/helpers/two-factor-fixtures.ts';
import { verifySecondFactor } from './second-factor-pipeline.ts';
import {
  disableTwoFactor,
  getTwoFactorStatus,
  getTwoFactorStatusByUsername,
  regenerateBackupCodes,
  resetTwoFactorByOperator,
} from './two-factor-management.ts';
import { statusOf } from './two-factor-status.ts';

/** Options of a disable that CREW_REQUIRE_2FA allows. */
const MAY_DISABLE = { require2fa: 'off', role: 'user' } as const;

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe(code);
  return error as AppError;
}

describe.each(TEST_DIALECTS)('two-factor management on %s', (kind) => {
  let t: Awaited<ReturnType<typeof createMigratedDatabase>>;
  beforeAll(async () => {
    t = await createMigratedDatabase(kind);
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('regenerates 10 backup codes only with a valid TOTP code; old codes stop working, new ones work', async () => {
    const user = await createEnabledUser(t.open.db);
    expect(await regenerateBackupCodes(user.deps, user.userId, wrongCode(user, user.clock), TEST_META)).toMatchObject({ ok: false, reason: 'invalid' });
    // A backup code cannot mint new backup codes.
    expect(await regenerateBackupCodes(user.deps, user.userId, user.backupCodes[0], TEST_META)).toMatchObject({ ok: false, reason: 'malformed' });
    const regenerated = await regenerateBackupCodes(user.deps, user.userId, totpAt(user, user.clock), TEST_META);
    if (!regenerated.ok) throw new Error(`refused: ${regenerated.reason}`);
    const { backupCodes } = regenerated;
    expect(backupCodes).toHaveLength(10);
    expect(backupCodes.some((c) => user.backupCodes.includes(c))).toBe(false);
    expect(await countEvents(t.open.db, user.userId, 'backup_codes_regenerated')).toBe(1);
    // The TOTP step used to regenerate is spent too (RFC 6238 §5.2).
    expect(await regenerateBackupCodes(user.deps, user.userId, totpAt(user, user.clock), TEST_META)).toMatchObject({ ok: false, reason: 'replayed' });
    expect(await verifySecondFactor(user.deps, user.userId, user.backupCodes[1]!, TEST_META)).toMatchObject({ ok: false, reason: 'invalid' });
    expect(await verifySecondFactor(user.deps, user.userId, backupCodes[0]!, TEST_META)).toMatchObject({ ok: true, backupCodesRemaining: 9 });
  });

  it('disables with password + TOTP code: the row with its secret and hashes is deleted and the event logged', async () => {
    const user = await createEnabledUser(t.open.db);
    const result = await disableTwoFactor(user.deps, user.userId, { password: GOOD_PASSWORD, code: totpAt(user, user.clock) }, TEST_META, MAY_DISABLE);
    expect(result).toEqual({ ok: true, twoFactor: { enabled: false } });
    expect(await readTwoFactorRow(t.open.db, user.userId)).toBeUndefined();
    expect(await countEvents(t.open.db, user.userId, 'two_factor_disabled')).toBe(1);
    expect(await disableTwoFactor(user.deps, user.userId, { password: GOOD_PASSWORD, code: totpAt(user, user.clock) }, TEST_META, MAY_DISABLE)).toMatchObject({ ok: false, reason: 'not_enabled' });
  });

  it('refuses to disable a factor CREW_REQUIRE_2FA requires, before any password or code is checked', async () => {
    const user = await createEnabledUser(t.open.db);
    await rejectsWith(disableTwoFactor(user.deps, user.userId, { password: 'wrong password!', code: wrongCode(user, user.clock) }, TEST_META, { require2fa: 'all', role: 'user' }), 'forbidden');
    expect(await readTwoFactorRow(t.open.db, user.userId)).toMatchObject({ reservedAttempts: 0 });
  });

  it('disables with password + backup code', async () => {
    const user = await createEnabledUser(t.open.db);
    await disableTwoFactor(user.deps, user.userId, { password: GOOD_PASSWORD, code: user.backupCodes[9] }, TEST_META, MAY_DISABLE);
    expect(await readTwoFactorRow(t.open.db, user.userId)).toBeUndefined();
  });

  it('refuses to disable with a wrong password (counted, code untouched) or a wrong code, and locks after 10', async () => {
    const user = await createEnabledUser(t.open.db);
    const disable = (password: unknown, code: unknown) => disableTwoFactor(user.deps, user.userId, { password, code }, TEST_META, MAY_DISABLE);
    expect(await disable('wrong password!', totpAt(user, user.clock))).toMatchObject({ ok: false, reason: 'wrong_password', counted: true });
    expect(await readTwoFactorRow(t.open.db, user.userId)).toMatchObject({ reservedAttempts: 1, lastUsedTotpStep: null });
    expect(await disable(GOOD_PASSWORD, wrongCode(user, user.clock))).toMatchObject({ ok: false, reason: 'invalid' });
    await rejectsWith(disableTwoFactor(user.deps, user.userId, { password: null, code: totpAt(user, user.clock) }, TEST_META, MAY_DISABLE), 'invalid_input');
    for (let i = 0; i < 7; i++) expect(await disable('wrong password!', totpAt(user, user.clock))).toMatchObject({ reason: 'wrong_password' });
    expect(await disable('nope nope nope', totpAt(user, user.clock))).toEqual({ ok: false, reason: 'locked', counted: true, retryAfterSeconds: 900 });
    // Locked: even the right password and code are refused, and the row is still there.
    expect(await disable(GOOD_PASSWORD, totpAt(user, user.clock))).toMatchObject({ ok: false, reason: 'locked', counted: false });
    expect(await readTwoFactorRow(t.open.db, user.userId)).toMatchObject({ enabled: expect.anything(), lockoutCount: 1 });
  });

  it('operator reset deletes the row and logs it; status reports enabled, createdAt, codes left and lockout', async () => {
    const user = await createEnabledUser(t.open.db);
    const status = await getTwoFactorStatusByUsername(user.deps, user.username);
    expect(status).toMatchObject({ userId: user.userId, enabled: true, backupCodesRemaining: 10, lockedUntil: null });
    expect(status.createdAt).toBeInstanceOf(Date);
    expect(Math.abs(status.createdAt!.getTime() - Date.now())).toBeLessThan(5 * 60_000);
    for (let i = 0; i < 10; i++) await verifySecondFactor(user.deps, user.userId, wrongCode(user, user.clock), TEST_META);
    expect((await getTwoFactorStatus(user.deps, user.userId)).lockedUntil).toEqual(new Date(user.clock.now().getTime() + 900_000));

    expect(await resetTwoFactorByOperator(user.deps, user.username)).toEqual({ userId: user.userId, username: user.username, removed: true, passkeysRemoved: 0, sessionsEnded: 0 });
    expect(await readTwoFactorRow(t.open.db, user.userId)).toBeUndefined();
    expect(await countEvents(t.open.db, user.userId, 'two_factor_reset_by_operator')).toBe(1);
    expect(await getTwoFactorStatus(user.deps, user.userId)).toEqual({ enabled: false, createdAt: null, backupCodesRemaining: 0, lockedUntil: null });
    expect(await resetTwoFactorByOperator(user.deps, user.username)).toMatchObject({ removed: false });
    await rejectsWith(resetTwoFactorByOperator(user.deps, 'no-such-user'), 'not_found');
    await rejectsWith(getTwoFactorStatusByUsername(user.deps, 'no-such-user'), 'not_found');
  });

  // Bug: sign-in matches usernames ignoring case, but `crew 2fa status|reset` matched them exactly, so an operator could
  // not find an adopted 'Carol' by the name she signs in with. Both now use UsersRepository's case-insensitive lookup.
  it('crew 2fa status and reset find an adopted mixed-case username ignoring case, and report it as stored', async () => {
    const user = await createEnabledUser(t.open.db);
    await t.open.db.updateTable('users').set({ username: 'Carol' }).where('id', '=', user.userId).execute();
    expect(await getTwoFactorStatusByUsername(user.deps, 'carol')).toMatchObject({ userId: user.userId, username: 'Carol', enabled: true });
    expect(await resetTwoFactorByOperator(user.deps, 'CAROL')).toEqual({ userId: user.userId, username: 'Carol', removed: true, passkeysRemoved: 0, sessionsEnded: 0 });
    expect(await readTwoFactorRow(t.open.db, user.userId)).toBeUndefined();
    await rejectsWith(getTwoFactorStatusByUsername(user.deps, 'caro'), 'not_found');
  });

  // Legacy data: entries in backup_codes that are neither argon2 nor werkzeug hashes can never match, so counting them
  // would promise the user codes that do not exist. (The Flask app's werkzeug hashes do count and work: issue 7.)
  it('does not count backup-code entries that are not hashes at all, and never accepts them', async () => {
    const user = await createEnabledUser(t.open.db);
    const row = await readTwoFactorRow(t.open.db, user.userId);
    const ours = (JSON.parse(row!.backup_codes!) as string[]).slice(0, 2);
    const legacy = ['abcde-fghjk', 'pbkdf2:sha256:1000$salt$' + '00'.repeat(32), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'];
    await t.open.db.updateTable('two_factor_auth').set({ backup_codes: JSON.stringify([...legacy, ...ours]) }).where('user_id', '=', user.userId).execute();

    // Two of ours and the one werkzeug hash (pbkdf2:sha256:1000$salt$00…, which no code matches but is a hash) count.
    expect((await getTwoFactorStatus(user.deps, user.userId)).backupCodesRemaining).toBe(3);
    expect(statusOf(await user.deps.twoFactor.findByUserId(user.userId), user.clock.now().getTime()).backupCodesRemaining).toBe(3);
    expect(await verifySecondFactor(user.deps, user.userId, 'abcde-fghjk', TEST_META)).toMatchObject({ ok: false, reason: 'invalid' });
    expect(await verifySecondFactor(user.deps, user.userId, user.backupCodes[0]!, TEST_META)).toEqual({ ok: true, method: 'backup_code', backupCodesRemaining: 2 });
  });
});
