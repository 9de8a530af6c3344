// Threat: an adopted Flask user's old backup codes (werkzeug hashes of 8-hex-digit codes, issue 7) either locked out
// (refused as malformed, counted as 0) or, once accepted, used more than once — replayed, or raced over parallel
// requests — or accepted in junk-shaped guesses from users who never had such codes.
// Rule: a look-up secret is used successfully only once (NIST SP 800-63B §5.1.2.2), consumed by compare-and-swap on
// backup_codes; it is checked in constant time with bounded cost (verifyWerkzeugHash); input of the legacy shape is
// plausible only for a user whose stored list holds werkzeug hashes, for everyone else it stays malformed: uncounted,
// nothing written (OWASP ASVS 5.1.3, 2.8.x). Regeneration replaces the old codes with crew's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMigratedDatabase, TEST_DIALECTS } from '../../../test/helpers/test-database.ts';
import { createEnabledUser, readTwoFactorRow, TEST_META, totpAt, type EnabledUser } from '../../../test/helpers/two-factor-fixtures.ts';
import { werkzeugHash } from '../../../test/helpers/werkzeug-hash.ts';
import { verifySecondFactor } from './second-factor-pipeline.ts';
import { getTwoFactorStatus, regenerateBackupCodes } from './two-factor-management.ts';

// The Flask app's codes (`'%08x' % random`), hashed by the real werkzeug with the methods its database holds.
const LEGACY = [
  ['5675f6ad', 'pbkdf2:sha256:1000', 'NaClNaClNaClNaCl'],
  ['0e4c81b9', 'sha256', 'saltsalt'],
  ['c0ffee42', 'sha1', 'pepper12'],
  ['deadbeef', 'pbkdf2:sha256:1000', 'SaltSaltSaltSalt'],
] as const;

describe.each(TEST_DIALECTS)('legacy (Flask) backup codes on %s', (kind) => {
  let t: Awaited<ReturnType<typeof createMigratedDatabase>>;
  let hashes: string[];
  beforeAll(async () => {
    t = await createMigratedDatabase(kind);
    hashes = LEGACY.map(([code, method, salt]) => werkzeugHash(code, method, salt));
  }, 120_000);
  afterAll(async () => {
    await t.cleanup();
  });

  /** An enabled user whose backup_codes hold the Flask hashes and, with `ours`, two of crew's argon2id hashes too. */
  async function adoptedUser(ours = false): Promise<EnabledUser> {
    const user = await createEnabledUser(t.open.db);
    const row = await readTwoFactorRow(t.open.db, user.userId);
    const crew = ours ? (JSON.parse(row!.backup_codes!) as string[]).slice(0, 2) : [];
    await t.open.db.updateTable('two_factor_auth').set({ backup_codes: JSON.stringify([...hashes, ...crew]) }).where('user_id', '=', user.userId).execute();
    return user;
  }

  it('counts the old codes, accepts each once, and refuses it the second time (counted)', async () => {
    const user = await adoptedUser(true);
    expect((await getTwoFactorStatus(user.deps, user.userId)).backupCodesRemaining).toBe(6);
    expect(await verifySecondFactor(user.deps, user.userId, ' 5675f6ad ', TEST_META)).toEqual({ ok: true, method: 'backup_code', backupCodesRemaining: 5 });
    expect(await verifySecondFactor(user.deps, user.userId, '5675f6ad', TEST_META)).toMatchObject({ ok: false, reason: 'invalid', counted: true });
    // Each werkzeug format in the list works; crew's own codes still work beside them.
    expect(await verifySecondFactor(user.deps, user.userId, '0e4c81b9', TEST_META)).toMatchObject({ ok: true, backupCodesRemaining: 4 });
    expect(await verifySecondFactor(user.deps, user.userId, 'c0ffee42', TEST_META)).toMatchObject({ ok: true, backupCodesRemaining: 3 });
    expect(await verifySecondFactor(user.deps, user.userId, user.backupCodes[0]!, TEST_META)).toMatchObject({ ok: true, backupCodesRemaining: 2 });
    // werkzeug compared the exact text, so the old app never accepted another case either.
    expect(await verifySecondFactor(user.deps, user.userId, 'DEADBEEF', TEST_META)).toMatchObject({ ok: false, reason: 'invalid', counted: true });
    const row = await readTwoFactorRow(t.open.db, user.userId);
    expect(JSON.parse(row!.backup_codes!)).toEqual([hashes[3], expect.stringMatching(/^\$argon2id\$/)]);
  });

  it('lets exactly one of 12 concurrent requests with the same old code succeed', async () => {
    const user = await adoptedUser();
    const results = await Promise.all(Array.from({ length: 12 }, () => verifySecondFactor(user.deps, user.userId, 'deadbeef', TEST_META)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect((await readTwoFactorRow(t.open.db, user.userId))?.backupCodeCount).toBe(3);
  });

  it('treats a code of the old shape as malformed for a user without old codes: uncounted, nothing written', async () => {
    const user = await createEnabledUser(t.open.db);
    const before = await readTwoFactorRow(t.open.db, user.userId);
    for (const input of ['5675f6ad', 'abcdefgh', '1234567', 'x-y-z-1-2-3']) {
      expect(await verifySecondFactor(user.deps, user.userId, input, TEST_META)).toEqual({ ok: false, reason: 'malformed', counted: false });
    }
    expect(await readTwoFactorRow(t.open.db, user.userId)).toEqual(before);
  });

  it('regeneration replaces the old codes with crew codes: the old ones stop working', async () => {
    const user = await adoptedUser();
    const regenerated = await regenerateBackupCodes(user.deps, user.userId, totpAt(user, user.clock), TEST_META);
    expect(regenerated).toMatchObject({ ok: true });
    const row = await readTwoFactorRow(t.open.db, user.userId);
    expect((JSON.parse(row!.backup_codes!) as string[]).every((h) => h.startsWith('$argon2id$'))).toBe(true);
    expect(await verifySecondFactor(user.deps, user.userId, 'deadbeef', TEST_META)).toEqual({ ok: false, reason: 'malformed', counted: false });
  });
});
