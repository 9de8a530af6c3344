/**
 * Threat: hostile input on the code endpoints — wrong types, wrong lengths, letters, full-width digits, huge strings,
 * broken JSON — meant to crash the server (5xx), burn CPU in the KDF, or change state (lock a victim out with junk,
 * use up a pending sign-in). Every such request must get a 4xx in the contract's error shape and change nothing: no
 * failure counted on the account or the pending sign-in, no audit row (OWASP ASVS 5.1.3 / 5.1.4, 2.8.x).
 * Consistency: non-strings, '' and > 64 characters are refused by the route schema; strings the schema lets through
 * but that cannot be a code are refused by the service; both answer 400 invalid_input. On SQLite and PostgreSQL.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionToken } from '../../src/modules/sessions/session-token.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, csrfOf, type TestApp } from './app-harness.ts';
import { FIXED_START, enrolUser, postCode, startSignIn, totpAt, readTwoFactorRow, type EnrolledUser } from '../helpers/two-factor-fixtures.ts';

/** Code values no route may treat as a guess. */
const MALFORMED_CODES: unknown[] = [
  null, true, 123456, 0, [], ['123456'], {}, { code: '123456' },
  '', ' ', '12345', '1234567', 'abcdef', '12345a', '１２３４５６', '123\u0000456', '<script>', "' OR 1=1 --",
  'x'.repeat(65), '1'.repeat(5000), 'abcde-2345', 'abcde-234567',
];

function expect400(res: LightMyRequestResponse, what: string): void {
  expect(res.statusCode, `${what}: ${res.body}`).toBe(400);
  expect(res.json(), what).toEqual({ error: { code: 'invalid_input', message: expect.any(String) } });
}

describe.each(TEST_DIALECTS)('malformed codes on %s', (kind) => {
  let t: TestApp;
  let user: EnrolledUser;
  beforeAll(async () => {
    t = await createTestApp(kind);
    t.clock.set(FIXED_START);
    user = await enrolUser(t.app, t.clock, 'junk');
    t.clock.advanceSeconds(30);
  });
  afterAll(() => t.close());

  const snapshot = async () => ({
    row: await readTwoFactorRow(t.deps.db, user.userId),
    events: (await t.deps.db.selectFrom('security_events').select('id').where('user_id', '=', user.userId).execute()).length,
  });

  it('POST /api/auth/login/two-factor: every malformed code → 400 invalid_input; nothing counted, the pending sign-in lives on', async () => {
    const c = await startSignIn(t.app, user.username);
    const before = await snapshot();
    for (const code of MALFORMED_CODES) expect400(await postCode(c, code), `code=${JSON.stringify(code).slice(0, 40)}`);
    expect400(await c.json('POST', '/api/auth/login/two-factor', {}), 'missing code');
    for (const raw of ['{', 'null', '[]', '"123456"', '{"code": }']) {
      expect400(await c.request({ method: 'POST', url: '/api/auth/login/two-factor', payload: raw, headers: { 'content-type': 'application/json' } }), raw);
    }
    const huge = await c.request({ method: 'POST', url: '/api/auth/login/two-factor', payload: JSON.stringify({ code: '1'.repeat(100_000) }), headers: { 'content-type': 'application/json' } });
    expect(huge.statusCode).toBe(413);
    const form = await c.request({ method: 'POST', url: '/api/auth/login/two-factor', payload: 'code=123456', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.statusCode).toBe(415);

    expect(await snapshot()).toEqual(before);
    const session = await t.deps.db.selectFrom('sessions').selectAll().where('id', '=', hashSessionToken(c.cookies.get('crew_session')!)).executeTakeFirstOrThrow();
    expect(Number(session.two_factor_failures)).toBe(0);
    expect((await postCode(c, totpAt(user, t.clock))).statusCode).toBe(200);
  });

  it('POST /login/two-factor (form): malformed or repeated fields → 400 page; nothing counted', async () => {
    const c = await startSignIn(t.app, user.username);
    const csrf = csrfOf((await c.request({ method: 'GET', url: '/login/two-factor' })).body);
    const before = await snapshot();
    for (const code of ['', '12345', 'abcdef', '１２３４５６', 'x'.repeat(64)]) {
      const res = await c.form('/login/two-factor', { code, _csrf: csrf });
      expect(res.statusCode, code).toBe(400);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toContain('role="alert"');
    }
    const repeated = await c.request({ method: 'POST', url: '/login/two-factor', payload: `code=123456&code=654321&_csrf=${csrf}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(repeated.statusCode).toBe(400);
    const tooLong = await c.form('/login/two-factor', { code: '1'.repeat(65), _csrf: csrf });
    expect(tooLong.statusCode).toBe(400);
    expect(await snapshot()).toEqual(before);
  });

  it('regenerate and disable: malformed codes and passwords → 4xx, never 5xx, and nothing changes', async () => {
    const c = new TestClient(t.app);
    await c.json('POST', '/api/auth/login', { username: user.username, password: GOOD_PASSWORD });
    t.clock.advanceSeconds(30);
    expect((await postCode(c, totpAt(user, t.clock))).statusCode).toBe(200);
    const before = await snapshot();
    for (const code of MALFORMED_CODES) {
      const what = `code=${JSON.stringify(code).slice(0, 40)}`;
      expect400(await c.json('POST', '/api/2fa/backup-codes/regenerate', { code }), `regenerate ${what}`);
      expect400(await c.json('POST', '/api/2fa/disable', { password: GOOD_PASSWORD, code }), `disable ${what}`);
    }
    // Backup codes cannot mint backup codes: a well-formed backup code is malformed for regenerate.
    expect400(await c.json('POST', '/api/2fa/backup-codes/regenerate', { code: user.backupCodes[0] }), 'backup code');
    for (const password of [null, 12345678, [], '', 'x'.repeat(1025)]) {
      expect400(await c.json('POST', '/api/2fa/disable', { password, code: '123456' }), `password=${JSON.stringify(password).slice(0, 20)}`);
    }
    expect400(await c.json('POST', '/api/2fa/disable', { code: '123456' }), 'missing password');
    expect(await snapshot()).toEqual(before);
  });
});
