// Threat: online guessing of the second factor by someone who already has the password — 10^6 TOTP codes, three of
// them valid at any moment — sequentially, in parallel bursts, or spread over several app instances.
// Rule: at most 10 consecutive failures per account, counted atomically in the shared database, then a 15-minute lockout
// that doubles on repeat; during it even a right code is refused and consumes nothing (NIST SP 800-63B §5.2.2,
// OWASP ASVS 2.2.1, 2.8.x). Attempts are counted before they are verified, and the attempt that takes the last slot locks
// the account in the same statement, so parallel guesses cannot exceed the limit and a crash leaves no account stuck.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/open-database.ts';
import { SecretBox } from '../../lib/secret-box.ts';
import { createMigratedDatabase, TEST_DIALECTS } from '../../../test/helpers/test-database.ts';
import { ACCOUNT_LOCKOUT_BASE_SECONDS, ACCOUNT_MAX_CONSECUTIVE_FAILURES, lockoutDurationSeconds, retryAfterSeconds } from './account-lockout.ts';
import { countEvents, createEnabledUser, depsOn, readTwoFactorRow, TEST_META, totpAt, wrongCode, type EnabledUser } from '../../../test/helpers/two-factor-fixtures.ts';
import { SecondFactorUnavailable } from './second-factor-method.ts';
import { reserveAccountAttempt, verifySecondFactor } from './second-factor-pipeline.ts';
import { TwoFactorRepository } from './two-factor.repository.ts';

describe('lockout policy (pure)', () => {
  it('locks for 15 minutes, doubling on each repeat, and says the wait in whole seconds', () => {
    expect([1, 2, 3, 4].map(lockoutDurationSeconds)).toEqual([900, 1800, 3600, 7200]);
    expect(lockoutDurationSeconds(1000)).toBe(900 * 2 ** 16);
    expect(() => lockoutDurationSeconds(0)).toThrow(TypeError);
    expect(retryAfterSeconds(10_001, 0)).toBe(11);
    expect(retryAfterSeconds(5, 10)).toBe(1);
  });
});

describe.each(TEST_DIALECTS)('account lockout on %s', (kind) => {
  let t: Awaited<ReturnType<typeof createMigratedDatabase>>;
  beforeAll(async () => {
    t = await createMigratedDatabase(kind);
  });
  afterAll(async () => {
    await t.cleanup();
  });

  async function failTimes(user: EnabledUser, n: number) {
    const results = [];
    for (let i = 0; i < n; i++) results.push(await verifySecondFactor(user.deps, user.userId, wrongCode(user, user.clock), TEST_META));
    return results;
  }

  it('locks after 10 consecutive failures, refuses a right code during the lock without using it, and logs once', async () => {
    const user = await createEnabledUser(t.open.db);
    const first9 = await failTimes(user, 9);
    expect(first9.map((r) => !r.ok && r.failuresRemaining)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1]);
    const tenth = (await failTimes(user, 1))[0]!;
    expect(tenth).toEqual({ ok: false, reason: 'locked', counted: true, retryAfterSeconds: ACCOUNT_LOCKOUT_BASE_SECONDS });
    expect(tenth).toMatchObject({ retryAfterSeconds: lockoutDurationSeconds(1) });
    expect(await countEvents(t.open.db, user.userId, 'two_factor_code_failed')).toBe(10);
    expect(await countEvents(t.open.db, user.userId, 'two_factor_lockout')).toBe(1);

    user.clock.advanceSeconds(60);
    const before = await readTwoFactorRow(t.open.db, user.userId);
    const rightTotp = await verifySecondFactor(user.deps, user.userId, totpAt(user, user.clock), TEST_META);
    const rightBackup = await verifySecondFactor(user.deps, user.userId, user.backupCodes[0]!, TEST_META);
    expect(rightTotp).toEqual({ ok: false, reason: 'locked', counted: false, retryAfterSeconds: ACCOUNT_LOCKOUT_BASE_SECONDS - 60 });
    expect(rightBackup).toMatchObject({ ok: false, reason: 'locked' });
    const after = await readTwoFactorRow(t.open.db, user.userId);
    expect(after?.lastUsedTotpStep).toBe(before?.lastUsedTotpStep); // no step claimed
    expect(after?.backupCodeCount).toBe(10); // no backup code consumed
    expect(await countEvents(t.open.db, user.userId, 'two_factor_lockout')).toBe(1);
  });

  it('lets the lockout expire (injected clock), then doubles it on the next 10 failures, and a success resets it', async () => {
    const user = await createEnabledUser(t.open.db);
    await failTimes(user, 10);
    user.clock.advanceSeconds(ACCOUNT_LOCKOUT_BASE_SECONDS - 1);
    expect(await verifySecondFactor(user.deps, user.userId, totpAt(user, user.clock), TEST_META)).toMatchObject({ reason: 'locked', retryAfterSeconds: 1 });
    user.clock.advanceSeconds(1); // the lock ends exactly at locked_until_ms
    const second = await failTimes(user, 10);
    expect(second[9]).toMatchObject({ reason: 'locked', retryAfterSeconds: 2 * ACCOUNT_LOCKOUT_BASE_SECONDS });
    // The SQL that imposes the lock computes the same lengths as lockoutDurationSeconds (the n-th lockout).
    expect(second[9]).toMatchObject({ retryAfterSeconds: lockoutDurationSeconds(2) });
    expect((await readTwoFactorRow(t.open.db, user.userId))?.lockoutCount).toBe(2);
    user.clock.advanceSeconds(2 * ACCOUNT_LOCKOUT_BASE_SECONDS);
    await failTimes(user, 10);
    expect((await readTwoFactorRow(t.open.db, user.userId))?.lockedUntilMs).toBe(user.clock.now().getTime() + 4 * ACCOUNT_LOCKOUT_BASE_SECONDS * 1000);
    expect((await readTwoFactorRow(t.open.db, user.userId))?.lockedUntilMs).toBe(user.clock.now().getTime() + lockoutDurationSeconds(3) * 1000);
    user.clock.advanceSeconds(4 * ACCOUNT_LOCKOUT_BASE_SECONDS);
    // After the lock, a right code works and resets the counters, so the next lockout is 15 minutes again (documented choice).
    expect(await verifySecondFactor(user.deps, user.userId, totpAt(user, user.clock), TEST_META)).toMatchObject({ ok: true });
    expect(await readTwoFactorRow(t.open.db, user.userId)).toMatchObject({ reservedAttempts: 0, lockoutCount: 0, lockedUntilMs: null });
    expect(await countEvents(t.open.db, user.userId, 'two_factor_lockout')).toBe(3);
  });

  it('resets the consecutive count after a success', async () => {
    const user = await createEnabledUser(t.open.db);
    await failTimes(user, 9);
    expect(await verifySecondFactor(user.deps, user.userId, user.backupCodes[0]!, TEST_META)).toMatchObject({ ok: true });
    expect((await failTimes(user, 1))[0]).toMatchObject({ reason: 'invalid', failuresRemaining: 9 });
  });

  it('verifies at most 10 of 40 parallel guesses spread over two database instances, and locks exactly once', async () => {
    const second = await openDatabase(t.config);
    try {
      const user = await createEnabledUser(t.open.db);
      const onSecond = depsOn(user, second.db);
      const bad = wrongCode(user, user.clock);
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => verifySecondFactor(i % 2 ? onSecond : user.deps, user.userId, bad, TEST_META)),
      );
      expect(results.every((r) => !r.ok)).toBe(true);
      expect(results.filter((r) => !r.ok && r.counted)).toHaveLength(ACCOUNT_MAX_CONSECUTIVE_FAILURES);
      expect(await countEvents(t.open.db, user.userId, 'two_factor_code_failed')).toBe(ACCOUNT_MAX_CONSECUTIVE_FAILURES);
      expect(await countEvents(t.open.db, user.userId, 'two_factor_lockout')).toBe(1);
      const row = await readTwoFactorRow(second.db, user.userId);
      expect(row).toMatchObject({ lockoutCount: 1, lockedUntilMs: user.clock.now().getTime() + ACCOUNT_LOCKOUT_BASE_SECONDS * 1000 });
      // Even the right code, on either instance, is now refused.
      expect(await verifySecondFactor(onSecond, user.userId, totpAt(user, user.clock), TEST_META)).toMatchObject({ reason: 'locked' });
    } finally {
      await second.close();
    }
  });

  it('refuses attempts beyond the limit with the real wait, even when the 10 counted attempts never settled (a crash)', async () => {
    const user = await createEnabledUser(t.open.db);
    // Ten attempts counted whose process died before verifying anything: the 10th reservation locked the account itself.
    for (let i = 0; i < ACCOUNT_MAX_CONSECUTIVE_FAILURES; i++) {
      expect(await reserveAccountAttempt(user.deps.twoFactor, user.userId, user.clock.now())).toMatchObject({ reserved: true });
    }
    expect(await verifySecondFactor(user.deps, user.userId, totpAt(user, user.clock), TEST_META)).toEqual({
      ok: false,
      reason: 'locked',
      counted: false,
      retryAfterSeconds: ACCOUNT_LOCKOUT_BASE_SECONDS,
    });
    // The lock ends on its own (nothing stays stuck), and the right code then signs in and resets the counters.
    user.clock.advanceSeconds(ACCOUNT_LOCKOUT_BASE_SECONDS);
    expect(await verifySecondFactor(user.deps, user.userId, totpAt(user, user.clock), TEST_META)).toMatchObject({ ok: true });
    expect(await readTwoFactorRow(t.open.db, user.userId)).toMatchObject({ reservedAttempts: 0, lockoutCount: 0, lockedUntilMs: null });
  });

  // Data: the previous release left failed_attempts at 10 without a lock when the process died mid-verification.
  it('treats a full count without a lock in force (a lock that ended, or a row left by the previous release) as a new cycle', async () => {
    const user = await createEnabledUser(t.open.db);
    await t.open.db.updateTable('two_factor_auth').set({ failed_attempts: 10, locked_until_ms: null }).where('user_id', '=', user.userId).execute();
    expect(await verifySecondFactor(user.deps, user.userId, wrongCode(user, user.clock), TEST_META)).toMatchObject({ reason: 'invalid', failuresRemaining: 9 });
    expect(await verifySecondFactor(user.deps, user.userId, totpAt(user, user.clock), TEST_META)).toMatchObject({ ok: true });
  });

  it('gives the attempt back when the secret cannot be decrypted (an operator error): a 5xx that locks nobody out', async () => {
    const user = await createEnabledUser(t.open.db);
    const withoutTheKey = { ...user.deps, twoFactor: new TwoFactorRepository(t.open.db, new SecretBox([randomBytes(32)])) };
    // Nine real failures first, so the broken attempts below each take the last slot (and impose the lock) before failing.
    for (let i = 0; i < 9; i++) await verifySecondFactor(user.deps, user.userId, wrongCode(user, user.clock, i), TEST_META);
    for (let i = 0; i < 3; i++) {
      await expect(verifySecondFactor(withoutTheKey, user.userId, totpAt(user, user.clock), TEST_META)).rejects.toBeInstanceOf(SecondFactorUnavailable);
    }
    expect(await readTwoFactorRow(t.open.db, user.userId)).toMatchObject({ reservedAttempts: 9, lockedUntilMs: null, lockoutCount: 0 });
    expect(await verifySecondFactor(user.deps, user.userId, totpAt(user, user.clock), TEST_META)).toMatchObject({ ok: true });
  });
});
