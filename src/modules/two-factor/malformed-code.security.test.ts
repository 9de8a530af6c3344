// Threat: hostile or broken input in the code field — null, arrays, objects, numbers, wrong lengths, letters, a 100 kB
// string — used to crash the verifier (a 5xx), burn CPU (a KDF run per junk request), change state, or lock a victim out
// with junk. Rule: such input is rejected as 'malformed' before any database work, never throws and changes nothing;
// only plausible guesses (6 digits, or something that normalises to a backup code) are verified and counted toward the
// lockout (NIST SP 800-63B §5.2.2 counts authentication attempts; OWASP ASVS 5.1.x input validation, 2.8.x).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMigratedDatabase, TEST_DIALECTS } from '../../../test/helpers/test-database.ts';
import { countEvents, createEnabledUser, readTwoFactorRow, TEST_META, wrongCode } from '../../../test/helpers/two-factor-fixtures.ts';
import { classifySecondFactorInput } from './second-factor-input.ts';
import { verifySecondFactor } from './second-factor-pipeline.ts';

const MALFORMED: unknown[] = [
  null,
  undefined,
  [],
  ['123456'],
  {},
  { code: '123456' },
  12345,
  123456,
  true,
  '',
  '   ',
  '12345',
  '1234567',
  '12345a',
  'abc',
  '１２３４５６', // full-width digits are not ASCII digits
  'x'.repeat(100_000),
  '1'.repeat(5000),
  'abcde-fghij', // contains i: not in the backup alphabet
  'k7m2q-ahx9', // 9 symbols
];

describe('classifySecondFactorInput (pure)', () => {
  it('classifies plausible guesses and rejects the rest', () => {
    expect(classifySecondFactorInput('123456')).toEqual({ kind: 'totp', code: '123456' });
    expect(classifySecondFactorInput(' 123 456 ')).toEqual({ kind: 'totp', code: '123456' });
    expect(classifySecondFactorInput('K7M2Q-AHX9V')).toEqual({ kind: 'backup_code', code: 'k7m2qahx9v' });
    expect(classifySecondFactorInput('k7m2qahx9v', { acceptBackupCode: false })).toEqual({ kind: 'malformed' });
    // Shaped like the Flask app's codes (6–16 letters, digits, dashes): a possible legacy code, which
    // screenLegacyBackupCode (run by the pipeline below) turns back into malformed for users without werkzeug-hashed codes.
    const legacyShaped = new Set<unknown>(['1234567', '12345a', 'abcde-fghij', 'k7m2q-ahx9']);
    for (const input of MALFORMED) {
      expect(classifySecondFactorInput(input)).toEqual(legacyShaped.has(input) ? { kind: 'backup_code', code: input, legacy: true } : { kind: 'malformed' });
    }
  });
});

describe.each(TEST_DIALECTS)('malformed codes on %s', (kind) => {
  let t: Awaited<ReturnType<typeof createMigratedDatabase>>;
  beforeAll(async () => {
    t = await createMigratedDatabase(kind);
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('never throws, never counts and never changes the row for malformed input', async () => {
    const user = await createEnabledUser(t.open.db);
    const before = await readTwoFactorRow(t.open.db, user.userId);
    for (const input of MALFORMED) {
      const result = await verifySecondFactor(user.deps, user.userId, input, TEST_META);
      expect(result).toEqual({ ok: false, reason: 'malformed', counted: false });
    }
    expect(await readTwoFactorRow(t.open.db, user.userId)).toEqual(before);
    const events = await t.open.db.selectFrom('security_events').select('id').where('user_id', '=', user.userId).execute();
    expect(events).toHaveLength(0);
  });

  it('counts plausible wrong guesses: a wrong 6-digit code and a wrong backup-code-shaped string', async () => {
    const user = await createEnabledUser(t.open.db);
    expect(await verifySecondFactor(user.deps, user.userId, wrongCode(user, user.clock), TEST_META)).toMatchObject({ reason: 'invalid', counted: true, failuresRemaining: 9 });
    expect(await verifySecondFactor(user.deps, user.userId, 'zzzzz-zzzzz', TEST_META)).toMatchObject({ reason: 'invalid', counted: true, failuresRemaining: 8 });
    expect((await readTwoFactorRow(t.open.db, user.userId))?.reservedAttempts).toBe(2);
    expect(await countEvents(t.open.db, user.userId, 'two_factor_code_failed')).toBe(2);
  });

  it('answers not_enabled (uncounted) for users without enabled 2FA, whatever plausible code; junk is malformed first', async () => {
    const user = await createEnabledUser(t.open.db, { enabled: false });
    for (const input of ['123456', user.backupCodes[0]]) {
      expect(await verifySecondFactor(user.deps, user.userId, input, TEST_META)).toEqual({ ok: false, reason: 'not_enabled', counted: false });
    }
    // Input is classified before anything is read, so junk is malformed whoever sends it.
    expect(await verifySecondFactor(user.deps, user.userId, null, TEST_META)).toEqual({ ok: false, reason: 'malformed', counted: false });
    expect(await verifySecondFactor(user.deps, 987_654, '123456', TEST_META)).toMatchObject({ reason: 'not_enabled' });
    expect((await readTwoFactorRow(t.open.db, user.userId))?.reservedAttempts).toBe(0);
  });

  it('malformed input reads nothing, so it answers the same during a lockout', async () => {
    const user = await createEnabledUser(t.open.db);
    for (let i = 0; i < 10; i++) await verifySecondFactor(user.deps, user.userId, wrongCode(user, user.clock, i), TEST_META);
    expect(await verifySecondFactor(user.deps, user.userId, wrongCode(user, user.clock), TEST_META)).toMatchObject({ reason: 'locked' });
    const before = await readTwoFactorRow(t.open.db, user.userId);
    expect(await verifySecondFactor(user.deps, user.userId, 'abc', TEST_META)).toEqual({ ok: false, reason: 'malformed', counted: false });
    expect(await readTwoFactorRow(t.open.db, user.userId)).toEqual(before);
  });
});
