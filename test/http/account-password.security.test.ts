/**
 * Threat: a password that leaked keeps working, and sessions opened with it stay open. Password change (OWASP ASVS 2.1.5,
 * 2.1.6, 3.3.3; NIST SP 800-63B §5.1.1.2): it needs the current password (throttled like sign-in) and, when 2FA is on, a
 * code; it applies the policy; it ends every other session and gives the current one a new token; it records an event.
 * On SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionToken } from '../../src/modules/sessions/session-token.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { countEvents, enrolUser, FIXED_START, totpAt, wrongCode } from '../helpers/two-factor-fixtures.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, type TestApp } from './app-harness.ts';

const NEW_PASSWORD = 'a brand new passphrase 42';

describe.each(TEST_DIALECTS)('password change on %s', (kind) => {
  let t: TestApp;
  let n = 0;
  beforeAll(async () => {
    t = await createTestApp(kind);
    t.clock.set(FIXED_START);
  });
  afterAll(() => t.close());

  async function signedIn(username: string, password = GOOD_PASSWORD): Promise<TestClient> {
    const c = new TestClient(t.app);
    const res = await c.json('POST', '/api/auth/login', { username, password });
    expect(res.statusCode, res.body).toBe(200);
    return c;
  }
  async function register(): Promise<{ username: string; userId: number; client: TestClient }> {
    const username = `changer${++n}`;
    const client = new TestClient(t.app);
    const res = await client.json('POST', '/api/auth/register', { username, password: GOOD_PASSWORD });
    expect(res.statusCode).toBe(201);
    return { username, userId: res.json().user.id, client };
  }

  it('ends the other sessions, rotates the current one, and the old password stops working', async () => {
    const { username, userId, client } = await register();
    const laptop = await signedIn(username);
    const phone = await signedIn(username);
    const oldToken = client.cookies.get('crew_session')!;
    const res = await client.json('POST', '/api/account/password', { currentPassword: GOOD_PASSWORD, newPassword: NEW_PASSWORD });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ otherSessionsEnded: 2 });
    // The current session continues under a NEW token; the old token is dead.
    const newToken = client.cookies.get('crew_session')!;
    expect(newToken).not.toBe(oldToken);
    expect((await client.json('GET', '/api/me')).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: { cookie: `crew_session=${oldToken}` } })).statusCode).toBe(401);
    for (const other of [laptop, phone]) expect((await other.json('GET', '/api/me')).statusCode).toBe(401);
    const rows = await t.deps.db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute();
    expect(rows.map((r) => r.id)).toEqual([hashSessionToken(newToken)]);
    // Old password refused, new one accepted.
    expect((await new TestClient(t.app).json('POST', '/api/auth/login', { username, password: GOOD_PASSWORD })).statusCode).toBe(401);
    await signedIn(username, NEW_PASSWORD);
    expect(await countEvents(t.deps.db, userId, 'password_changed')).toBe(1);
  });

  it('refuses a wrong current password (401, counted by the throttle) and a new password the policy rejects (400), changing nothing', async () => {
    const { username, userId, client } = await register();
    const other = await signedIn(username);
    const wrong = await client.json('POST', '/api/account/password', { currentPassword: 'not the password', newPassword: NEW_PASSWORD });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('invalid_credentials');
    const weak = await client.json('POST', '/api/account/password', { currentPassword: GOOD_PASSWORD, newPassword: 'short' });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().error).toMatchObject({ code: 'invalid_input', details: { field: 'newPassword' } });
    expect((await client.json('POST', '/api/account/password', { currentPassword: GOOD_PASSWORD })).statusCode).toBe(400);
    expect((await other.json('GET', '/api/me')).statusCode).toBe(200);
    await signedIn(username);
    expect(await countEvents(t.deps.db, userId, 'sign_in_failed')).toBe(1);
    expect(await countEvents(t.deps.db, userId, 'password_changed')).toBe(0);
  });

  it('with 2FA on, a code is required: none → 400, wrong → 401 invalid_code, right → 200', async () => {
    const user = await enrolUser(t.app, t.clock, 'twofa');
    t.clock.advanceSeconds(30);
    const c = new TestClient(t.app);
    expect((await c.json('POST', '/api/auth/login', { username: user.username, password: GOOD_PASSWORD })).json().status).toBe('two_factor_required');
    expect((await c.json('POST', '/api/auth/login/two-factor', { code: totpAt(user, t.clock) })).statusCode).toBe(200);
    t.clock.advanceSeconds(30);
    const none = await c.json('POST', '/api/account/password', { currentPassword: GOOD_PASSWORD, newPassword: NEW_PASSWORD });
    expect(none.statusCode).toBe(400);
    expect(none.json().error.details).toEqual({ field: 'code' });
    const wrong = await c.json('POST', '/api/account/password', { currentPassword: GOOD_PASSWORD, newPassword: NEW_PASSWORD, code: wrongCode(user, t.clock) });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('invalid_code');
    const ok = await c.json('POST', '/api/account/password', { currentPassword: GOOD_PASSWORD, newPassword: NEW_PASSWORD, code: user.backupCodes[0] });
    expect(ok.statusCode, ok.body).toBe(200);
    expect((await new TestClient(t.app).json('POST', '/api/auth/login', { username: user.username, password: NEW_PASSWORD })).json().status).toBe('two_factor_required');
  });

  it('the form on /settings/security changes the password without JavaScript and shows a refusal by its field', async () => {
    const { username, client } = await register();
    let { csrf } = await client.page('/settings/security');
    const refused = await client.form('/settings/security/password', { currentPassword: 'wrong one here', newPassword: NEW_PASSWORD, _csrf: csrf });
    expect(refused.statusCode).toBe(401);
    expect(refused.body).toContain('id="password-error"');
    expect(refused.body).toMatch(/id="current-password"[^>]*aria-invalid="true"/);
    ({ csrf } = await client.page('/settings/security'));
    const noToken = await client.form('/settings/security/password', { currentPassword: GOOD_PASSWORD, newPassword: NEW_PASSWORD, _csrf: 'forged' });
    expect(noToken.statusCode).toBe(403);
    const done = await client.form('/settings/security/password', { currentPassword: GOOD_PASSWORD, newPassword: NEW_PASSWORD, _csrf: csrf });
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe('/settings/security?notice=password-changed');
    const page = await client.page('/settings/security?notice=password-changed');
    expect(page.res.body).toContain('Your password is changed.');
    await signedIn(username, NEW_PASSWORD);
  });
});
