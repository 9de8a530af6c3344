// Threat: online guessing of the second factor by someone who already has the password — 10^6 TOTP codes, three of
// them valid at any moment — sequentially, in parallel bursts, or spread over several app instances.
// Rule: at most 10 consecutive failures per account, counted atomically in the shared database, then a 15-minute lockout
// that doubles on repeat; during it even a right code is refused and consumes nothing (NIST SP 800-63B §5.2.2,
// OWASP ASVS 2.2.1, 2.8.x). Attempts are counted before they are verified, so parallel guesses cannot exceed the limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/open-database.ts';
import { createMigratedDatabase, TEST_DIALECTS } from '../../../test/helpers/test-database.ts';
import {
  ACCOUNT_LOCKOUT_BASE_SECONDS,
  ACCOUNT_MAX_CONSECUTIVE_FAILURES,
  lockoutDurationSeconds,
  MAX_CODE_ATTEMPTS_PER_PENDING_SIGN_IN,
  retryAfterSeconds,
} from './account-lockout.ts';
import { countEvents, createEnabledUser, readRow, TEST_META, wrongCode, codeAt, type EnabledUser } from './security-test-fixtures.ts';
import { verifySecondFactor } from './sign-in-verifier.ts';

describe('lockout policy (pure)', () => {
  it('allows 10 failures, then locks for 15 minutes, doubling on each repeat', () => {
    expect(ACCOUNT_MAX_CONSECUTIVE_FAILURES).toBe(10);
    expect(ACCOUNT_MAX_CONSECUTIVE_FAILURES).toBeLessThanOrEqual(100); // NIST SP 800-63B §5.2.2 ceiling
    expect(MAX_CODE_ATTEMPTS_PER_PENDING_SIGN_IN).toBe(5);
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
    for (let i = 0; i < n; i++) results.push(await verifySecondFactor(user.deps, user.userId, wrongCode(user), TEST_META));
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
    const before = await readRow(t.open.db, user.userId);
    const rightTotp = await verifySecondFactor(user.deps, user.userId, codeAt(user), TEST_META);
    const rightBackup = await verifySecondFactor(user.deps, user.userId, user.backupCodes[0]!, TEST_META);
    expect(rightTotp).toEqual({ ok: false, reason: 'locked', counted: false, retryAfterSeconds: ACCOUNT_LOCKOUT_BASE_SECONDS - 60 });
    expect(rightBackup).toMatchObject({ ok: false, reason: 'locked' });
    const after = await readRow(t.open.db, user.userId);
    expect(after?.lastUsedTotpStep).toBe(before?.lastUsedTotpStep); // no step claimed
    expect(after?.backupCodeCount).toBe(10); // no backup code consumed
    expect(await countEvents(t.open.db, user.userId, 'two_factor_lockout')).toBe(1);
  });

  it('lets the lockout expire (injected clock), then doubles it on the next 10 failures, and a success resets it', async () => {
    const user = await createEnabledUser(t.open.db);
    await failTimes(user, 10);
    user.clock.advanceSeconds(ACCOUNT_LOCKOUT_BASE_SECONDS - 1);
    expect(await verifySecondFactor(user.deps, user.userId, codeAt(user), TEST_META)).toMatchObject({ reason: 'locked', retryAfterSeconds: 1 });
    user.clock.advanceSeconds(1); // the lock ends exactly at locked_until_ms
    const second = await failTimes(user, 10);
    expect(second[9]).toMatchObject({ reason: 'locked', retryAfterSeconds: 2 * ACCOUNT_LOCKOUT_BASE_SECONDS });
    // The SQL that imposes the lock computes the same lengths as lockoutDurationSeconds (the n-th lockout).
    expect(second[9]).toMatchObject({ retryAfterSeconds: lockoutDurationSeconds(2) });
    expect((await readRow(t.open.db, user.userId))?.lockoutCount).toBe(2);
    user.clock.advanceSeconds(2 * ACCOUNT_LOCKOUT_BASE_SECONDS);
    await failTimes(user, 10);
    expect((await readRow(t.open.db, user.userId))?.lockedUntilMs).toBe(user.clock.now().getTime() + 4 * ACCOUNT_LOCKOUT_BASE_SECONDS * 1000);
    expect((await readRow(t.open.db, user.userId))?.lockedUntilMs).toBe(user.clock.now().getTime() + lockoutDurationSeconds(3) * 1000);
    user.clock.advanceSeconds(4 * ACCOUNT_LOCKOUT_BASE_SECONDS);
    // After the lock, a right code works and resets the counters, so the next lockout is 15 minutes again (documented choice).
    expect(await verifySecondFactor(user.deps, user.userId, codeAt(user), TEST_META)).toMatchObject({ ok: true });
    expect(await readRow(t.open.db, user.userId)).toMatchObject({ failedAttempts: 0, lockoutCount: 0, lockedUntilMs: null });
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
      const onSecond = { ...user.deps, db: second.db };
      const bad = wrongCode(user);
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => verifySecondFactor(i % 2 ? onSecond : user.deps, user.userId, bad, TEST_META)),
      );
      expect(results.every((r) => !r.ok)).toBe(true);
      expect(results.filter((r) => !r.ok && r.counted)).toHaveLength(ACCOUNT_MAX_CONSECUTIVE_FAILURES);
      expect(await countEvents(t.open.db, user.userId, 'two_factor_code_failed')).toBe(ACCOUNT_MAX_CONSECUTIVE_FAILURES);
      expect(await countEvents(t.open.db, user.userId, 'two_factor_lockout')).toBe(1);
      const row = await readRow(second.db, user.userId);
      expect(row).toMatchObject({ lockoutCount: 1, failedAttempts: 0 });
      // Even the right code, on either instance, is now refused.
      expect(await verifySecondFactor(onSecond, user.userId, codeAt(user), TEST_META)).toMatchObject({ reason: 'locked' });
    } finally {
      await second.close();
    }
  });

  it('imposes the lockout when the limit was used up by attempts whose process died (no stuck accounts)', async () => {
    const user = await createEnabledUser(t.open.db);
    const deadAtMs = user.clock.now().getTime();
    // Simulate 10 reserved attempts that never settled (the process crashed after counting them).
    await t.open.db.updateTable('two_factor_auth').set({ failed_attempts: 10, updated_at_ms: deadAtMs }).where('user_id', '=', user.userId).execute();
    expect(await verifySecondFactor(user.deps, user.userId, codeAt(user), TEST_META)).toMatchObject({ reason: 'locked', retryAfterSeconds: 1, counted: false });
    user.clock.advanceSeconds(61);
    expect(await verifySecondFactor(user.deps, user.userId, codeAt(user), TEST_META)).toMatchObject({ reason: 'locked', retryAfterSeconds: ACCOUNT_LOCKOUT_BASE_SECONDS });
    expect(await countEvents(t.open.db, user.userId, 'two_factor_lockout')).toBe(1);
  });
});
