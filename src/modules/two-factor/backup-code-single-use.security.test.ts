// Threat: a backup code (a look-up secret) used more than once — replayed after it was seen, or sent in many parallel
// requests to one or several app instances hoping that two of them read the list before either writes it.
// Rule: a look-up secret is used successfully only once (NIST SP 800-63B §5.1.2.2, OWASP ASVS 2.8.x); the hash is removed by
// compare-and-swap on backup_codes (UPDATE … WHERE user_id = ? AND backup_codes = :old, affected rows checked, retried).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/open-database.ts';
import { createMigratedDatabase, TEST_DIALECTS } from '../../../test/helpers/test-database.ts';
import { countEvents, createEnabledUser, depsOn, readTwoFactorRow, TEST_META } from '../../../test/helpers/two-factor-fixtures.ts';
import { verifySecondFactor } from './second-factor-pipeline.ts';

describe.each(TEST_DIALECTS)('backup codes are single-use on %s', (kind) => {
  let t: Awaited<ReturnType<typeof createMigratedDatabase>>;
  beforeAll(async () => {
    t = await createMigratedDatabase(kind);
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('signs in with a backup code once, says how many remain, and refuses it the second time', async () => {
    const user = await createEnabledUser(t.open.db);
    const code = user.backupCodes[3]!;
    expect(await verifySecondFactor(user.deps, user.userId, code, TEST_META)).toEqual({ ok: true, method: 'backup_code', backupCodesRemaining: 9 });
    expect(await verifySecondFactor(user.deps, user.userId, code, TEST_META)).toMatchObject({ ok: false, reason: 'invalid', counted: true });
    expect((await readTwoFactorRow(t.open.db, user.userId))?.backupCodeCount).toBe(9);
    expect(await countEvents(t.open.db, user.userId, 'sign_in_with_backup_code')).toBe(1);
    expect(await countEvents(t.open.db, user.userId, 'two_factor_code_failed')).toBe(1);
  });

  it('ignores dashes, spaces and case in a backup code', async () => {
    const user = await createEnabledUser(t.open.db);
    const typed = ` ${user.backupCodes[0]!.toUpperCase().replace('-', ' - ')} `;
    expect(await verifySecondFactor(user.deps, user.userId, typed, TEST_META)).toMatchObject({ ok: true, backupCodesRemaining: 9 });
    const compact = user.backupCodes[1]!.replace('-', '');
    expect(await verifySecondFactor(user.deps, user.userId, compact, TEST_META)).toMatchObject({ ok: true, backupCodesRemaining: 8 });
  });

  it('lets exactly one of 20 concurrent requests with the same backup code succeed', async () => {
    const user = await createEnabledUser(t.open.db);
    const code = user.backupCodes[5]!;
    const results = await Promise.all(Array.from({ length: 20 }, () => verifySecondFactor(user.deps, user.userId, code, TEST_META)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect((await readTwoFactorRow(t.open.db, user.userId))?.backupCodeCount).toBe(9);
    expect(await countEvents(t.open.db, user.userId, 'sign_in_with_backup_code')).toBe(1);
  });

  it('consumes different codes sent in parallel all exactly once: losers of the compare-and-swap re-read and retry', async () => {
    const user = await createEnabledUser(t.open.db);
    const different = await Promise.all(user.backupCodes.slice(1, 6).map((c) => verifySecondFactor(user.deps, user.userId, c, TEST_META)));
    expect(different.every((r) => r.ok)).toBe(true);
    expect(different.map((r) => (r.ok ? r.backupCodesRemaining : -1)).sort()).toEqual([5, 6, 7, 8, 9]);
    expect((await readTwoFactorRow(t.open.db, user.userId))?.backupCodeCount).toBe(5);
    // And none of them works a second time, in any order.
    const again = await Promise.all(user.backupCodes.slice(1, 6).map((c) => verifySecondFactor(user.deps, user.userId, c, TEST_META)));
    expect(again.filter((r) => r.ok)).toHaveLength(0);
  });

  it('refuses a reused backup code across two separately opened database instances', async () => {
    const second = await openDatabase(t.config);
    try {
      const user = await createEnabledUser(t.open.db);
      const onSecond = depsOn(user, second.db);
      const code = user.backupCodes[7]!;
      expect(await verifySecondFactor(user.deps, user.userId, code, TEST_META)).toMatchObject({ ok: true });
      expect(await verifySecondFactor(onSecond, user.userId, code, TEST_META)).toMatchObject({ ok: false, reason: 'invalid' });
      // Racing one code over both instances: exactly one success.
      const racing = user.backupCodes[8]!;
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => verifySecondFactor(i % 2 ? onSecond : user.deps, user.userId, racing, TEST_META)),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect((await readTwoFactorRow(second.db, user.userId))?.backupCodeCount).toBe(8);
    } finally {
      await second.close();
    }
  });
});
