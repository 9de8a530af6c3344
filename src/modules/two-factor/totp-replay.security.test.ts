// Threat: a TOTP code that was observed (shoulder-surfing, a phishing relay, a logged request, a double submit) is used
// again within its 30–90 s validity, including the code typed to enable 2FA, or raced in parallel on several app
// instances. Rule: each time step is accepted once per user, enforced by compare-and-swap on last_used_totp_step in the
// database (RFC 6238 §5.2, NIST SP 800-63B §5.1.4.2, OWASP ASVS 2.8.4); refusals are logged as two_factor_replay_refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type OpenDatabase } from '../../db/open-database.ts';
import { createMigratedDatabase, TEST_DIALECTS } from '../../../test/helpers/test-database.ts';
import { countEvents, createEnabledUser, depsOn, readTwoFactorRow, stepNow, TEST_META, totpAt } from '../../../test/helpers/two-factor-fixtures.ts';
import { verifySecondFactor } from './second-factor-pipeline.ts';

describe.each(TEST_DIALECTS)('TOTP replay on %s', (kind) => {
  let t: Awaited<ReturnType<typeof createMigratedDatabase>>;
  beforeAll(async () => {
    t = await createMigratedDatabase(kind);
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('accepts a code once and refuses the same code again, logging the replay', async () => {
    const user = await createEnabledUser(t.open.db);
    const code = totpAt(user, user.clock);
    const first = await verifySecondFactor(user.deps, user.userId, code, TEST_META);
    expect(first).toEqual({ ok: true, method: 'totp', backupCodesRemaining: 10 });
    expect((await readTwoFactorRow(t.open.db, user.userId))?.lastUsedTotpStep).toBe(stepNow(user.clock));
    const again = await verifySecondFactor(user.deps, user.userId, code, TEST_META);
    expect(again).toMatchObject({ ok: false, reason: 'replayed' });
    expect(await countEvents(t.open.db, user.userId, 'sign_in_with_code')).toBe(1);
    expect(await countEvents(t.open.db, user.userId, 'two_factor_replay_refused')).toBe(1);
  });

  it('refuses the code (time step) that was used to enable 2FA', async () => {
    const user = await createEnabledUser(t.open.db);
    // Enrolment claims the step of the code it verified (simulated with the real claimTotpStep).
    expect(await user.deps.twoFactor.claimTotpStep(user.userId, stepNow(user.clock), user.clock.now().getTime())).toBe(true);
    const result = await verifySecondFactor(user.deps, user.userId, totpAt(user, user.clock), TEST_META);
    expect(result).toMatchObject({ ok: false, reason: 'replayed' });
    expect(await countEvents(t.open.db, user.userId, 'two_factor_replay_refused')).toBe(1);
    // The next step's code is fresh and works.
    user.clock.advanceSeconds(30);
    expect(await verifySecondFactor(user.deps, user.userId, totpAt(user, user.clock), TEST_META)).toMatchObject({ ok: true });
  });

  it('accepts ±1 step of drift but never an older step once a newer one was used', async () => {
    const user = await createEnabledUser(t.open.db);
    const previous = totpAt(user, user.clock, -1);
    const next = totpAt(user, user.clock, 1);
    expect(await verifySecondFactor(user.deps, user.userId, next, TEST_META)).toMatchObject({ ok: true, method: 'totp' });
    // The previous step is still inside the drift window but older than the accepted one (RFC 6238 §5.2).
    expect(await verifySecondFactor(user.deps, user.userId, previous, TEST_META)).toMatchObject({ ok: false, reason: 'replayed' });
    expect(await verifySecondFactor(user.deps, user.userId, totpAt(user, user.clock, 2), TEST_META)).toMatchObject({ ok: false, reason: 'invalid' });
  });

  it('lets exactly one of 20 concurrent requests with the same code succeed', async () => {
    const user = await createEnabledUser(t.open.db);
    const code = totpAt(user, user.clock);
    const results = await Promise.all(Array.from({ length: 20 }, () => verifySecondFactor(user.deps, user.userId, code, TEST_META)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    // The rest are refused: as replays, or (once 10 attempts are in flight at once) as too many attempts.
    for (const r of results.filter((x) => !x.ok)) expect(['replayed', 'locked']).toContain(!r.ok && r.reason);
    expect(await countEvents(t.open.db, user.userId, 'sign_in_with_code')).toBe(1);
  });

  it('accepts a legacy plain base32 secret (Flask database) with the same replay guard', async () => {
    const user = await createEnabledUser(t.open.db, { legacyPlainSecret: true });
    expect(await verifySecondFactor(user.deps, user.userId, totpAt(user, user.clock), TEST_META)).toMatchObject({ ok: true });
    expect(await verifySecondFactor(user.deps, user.userId, totpAt(user, user.clock), TEST_META)).toMatchObject({ ok: false, reason: 'replayed' });
  });

  it('refuses a replay across two separately opened database instances (two app instances)', async () => {
    const second: OpenDatabase = await openDatabase(t.config);
    try {
      const user = await createEnabledUser(t.open.db);
      const onSecond = depsOn(user, second.db);
      const code = totpAt(user, user.clock);
      expect(await verifySecondFactor(user.deps, user.userId, code, TEST_META)).toMatchObject({ ok: true });
      expect(await verifySecondFactor(onSecond, user.userId, code, TEST_META)).toMatchObject({ ok: false, reason: 'replayed' });
      // And racing: a fresh code sent to both instances at once, ten times each, succeeds exactly once.
      user.clock.advanceSeconds(30);
      const fresh = totpAt(user, user.clock);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => verifySecondFactor(i % 2 ? onSecond : user.deps, user.userId, fresh, TEST_META)),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
    } finally {
      await second.close();
    }
  });
});
