/**
 * Threat: learning from the answer whether a stolen or observed code was once right. Someone holding the password and a
 * code they saw (a TOTP code already used, a backup code already spent) must not be told "that code was already used"
 * while a guess is told "not valid": the difference would confirm the code was real, and it read inconsistently to
 * users too (issue 11). A reused TOTP code, a reused backup code and a wrong code get the same answer, by API and by
 * page; only the account owner sees the replay, among the security events after signing in (OWASP ASVS 2.8.4 for the
 * refusal itself; ASVS 7.4.1 / 2.2.x: generic messages that reveal nothing to an attacker).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/lib/app-error.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, type TestApp } from './app-harness.ts';
import { FIXED_START, enrolUser, eventTypes, postCode, startSignIn, totpAt, wrongCode } from '../helpers/two-factor-fixtures.ts';

describe.each(TEST_DIALECTS)('a reused code answers like a wrong one on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
    t.clock.set(FIXED_START);
  });
  afterAll(() => t.close());

  it('API: wrong TOTP code, replayed TOTP code and spent backup code give the same status, code and message', async () => {
    const user = await enrolUser(t.app, t.clock, 'reuse'); // the current step was used to enable 2FA
    expect((await postCode(await startSignIn(t.app, user.username), user.backupCodes[0]!)).statusCode).toBe(200);

    const answers = [];
    for (const code of [wrongCode(user, t.clock), totpAt(user, t.clock), user.backupCodes[0]!]) {
      const res = await postCode(await startSignIn(t.app, user.username), code);
      answers.push({ status: res.statusCode, body: res.json() });
    }
    const expected = { status: 401, body: { error: { code: 'invalid_code', message: new AppError('invalid_code').message } } };
    expect(answers).toEqual([expected, expected, expected]);
    // The owner can still tell, after signing in: the replay is recorded as such.
    expect(await eventTypes(t.deps.db, user.userId)).toContain('two_factor_replay_refused');
  });

  it('page: the form shows the same error for a replayed TOTP code and a spent backup code', async () => {
    const user = await enrolUser(t.app, t.clock, 'reusepage');
    expect((await postCode(await startSignIn(t.app, user.username), user.backupCodes[1]!)).statusCode).toBe(200);
    const errors = [];
    for (const [path, code] of [['/login/two-factor', totpAt(user, t.clock)], ['/login/two-factor?method=backup', user.backupCodes[1]!]] as const) {
      const c = new TestClient(t.app);
      const login = await c.page('/login');
      expect((await c.form('/login', { username: user.username, password: GOOD_PASSWORD, _csrf: login.csrf })).headers.location).toBe('/login/two-factor');
      const { csrf } = await c.page(path);
      const res = await c.form(path, { code, _csrf: csrf });
      expect(res.statusCode).toBe(401);
      errors.push(/<div class="alert alert-error" role="alert" id="form-error">\s*<p>([^<]*)<\/p>/.exec(res.body)?.[1]);
    }
    expect(errors).toEqual([new AppError('invalid_code').message, new AppError('invalid_code').message]);
  });
});
