// "Remember this device for 30 days" through the API on SQLite and PostgreSQL. The threats: a device cookie used for
// another account, after its 30 days, after 2FA was turned off or reset, after the password changed (the exported
// revokeRememberedDevices), or after the user forgot the device; and the token readable from the database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionToken } from '../../src/modules/sessions/session-token.ts';
import { revokeRememberedDevices } from '../../src/modules/remembered-devices/remembered-devices.ts';
import { resetTwoFactorByOperator } from '../../src/modules/two-factor/two-factor-management.ts';
import { TwoFactorRepository } from '../../src/modules/two-factor/two-factor.repository.ts';
import { REMEMBERED_DEVICE_COOKIE } from '../../src/http/remembered-device-cookie.ts';
import { countEvents, enrolUser, startSignIn, totpAt, type EnrolledUser } from '../helpers/two-factor-fixtures.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, type TestApp } from './app-harness.ts';

describe.each(TEST_DIALECTS)('remembered devices on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(() => t.close());

  /** A fresh TOTP step, so each sign-in's code is new (RFC 6238 §5.2 accepts a step once). */
  function nextCode(user: EnrolledUser): string {
    t.clock.advanceSeconds(30);
    return totpAt(user, t.clock);
  }

  /** Signs in with password + code on `c` (a fresh client if none), ticking "remember" when asked; then signs out. */
  async function signInWithCode(user: EnrolledUser, rememberDevice: boolean, c?: TestClient): Promise<TestClient> {
    const client = c ?? new TestClient(t.app);
    const login = await client.json('POST', '/api/auth/login', { username: user.username, password: GOOD_PASSWORD });
    expect(login.json()).toEqual({ status: 'two_factor_required' });
    const done = await client.json('POST', '/api/auth/login/two-factor', { code: nextCode(user), ...(rememberDevice ? { rememberDevice: true } : {}) });
    expect(done.statusCode, done.body).toBe(200);
    await client.json('POST', '/api/auth/logout');
    return client;
  }

  async function passwordOnly(c: TestClient, user: EnrolledUser): Promise<string> {
    const res = await c.json('POST', '/api/auth/login', { username: user.username, password: GOOD_PASSWORD });
    expect(res.statusCode).toBe(200);
    return res.json().status;
  }

  it('ticked: a separate HttpOnly cookie; the password alone then signs in on that device, counted and logged', async () => {
    const user = await enrolUser(t.app, t.clock, 'rem');
    const c = new TestClient(t.app);
    await c.json('POST', '/api/auth/login', { username: user.username, password: GOOD_PASSWORD });
    const done = await c.json('POST', '/api/auth/login/two-factor', { code: nextCode(user), rememberDevice: true });
    const setCookie = ([] as string[]).concat(done.headers['set-cookie'] ?? []).find((h) => h.startsWith(`${REMEMBERED_DEVICE_COOKIE}=`))!;
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).toMatch(/Max-Age=2592000/);
    await c.json('POST', '/api/auth/logout'); // signing out keeps the device cookie
    const token = c.cookies.get(REMEMBERED_DEVICE_COOKIE)!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Only the SHA-256 is stored: a database reader gets no usable cookie.
    const rows = await t.deps.db.selectFrom('remembered_devices').select(['token_hash', 'user_agent']).where('user_id', '=', user.userId).execute();
    expect(rows).toEqual([{ token_hash: hashSessionToken(token), user_agent: 'lightMyRequest' }]);

    expect(await passwordOnly(c, user)).toBe('authenticated');
    expect(await countEvents(t.deps.db, user.userId, 'sign_in_remembered_device')).toBe(1);
    const listed = (await c.json('GET', '/api/remembered-devices')).json().devices;
    expect(listed).toEqual([expect.objectContaining({ id: expect.any(Number), userAgent: 'lightMyRequest' })]);
    expect(JSON.stringify(listed)).not.toContain(rows[0]!.token_hash);
  });

  it('not ticked: no device cookie, and the next sign-in asks for the code again', async () => {
    const user = await enrolUser(t.app, t.clock, 'norem');
    const c = await signInWithCode(user, false);
    expect(c.cookies.has(REMEMBERED_DEVICE_COOKIE)).toBe(false);
    expect(await passwordOnly(c, user)).toBe('two_factor_required');
  });

  it('threat: a device remembered for one user is not honoured for another user on the same browser', async () => {
    const alice = await enrolUser(t.app, t.clock, 'alice');
    const bob = await enrolUser(t.app, t.clock, 'bob');
    const shared = await signInWithCode(alice, true);
    expect(await passwordOnly(shared, bob)).toBe('two_factor_required');
  });

  it('threat: a remembered device is not honoured after 30 days', async () => {
    const user = await enrolUser(t.app, t.clock, 'expiry');
    const c = await signInWithCode(user, true);
    t.clock.advanceSeconds(30 * 24 * 60 * 60 + 1);
    expect(await passwordOnly(c, user)).toBe('two_factor_required');
  });

  it('threat: turning 2FA off, an operator reset, a password change and "forget" each end remembered devices', async () => {
    // Turning 2FA off (then on again): the old device cookie no longer skips the new code.
    const user = await enrolUser(t.app, t.clock, 'off');
    const c = await signInWithCode(user, true);
    expect(await passwordOnly(c, user)).toBe('authenticated');
    const disabled = await c.json('POST', '/api/2fa/disable', { password: GOOD_PASSWORD, code: nextCode(user) });
    expect(disabled.statusCode, disabled.body).toBe(200);
    expect(await t.deps.db.selectFrom('remembered_devices').select('id').where('user_id', '=', user.userId).execute()).toEqual([]);

    // An operator's `crew 2fa reset`.
    const reset = await enrolUser(t.app, t.clock, 'reset');
    await signInWithCode(reset, true);
    await resetTwoFactorByOperator({ db: t.deps.db, clock: t.clock, twoFactor: new TwoFactorRepository(t.deps.db) }, reset.username);
    expect(await t.deps.db.selectFrom('remembered_devices').select('id').where('user_id', '=', reset.userId).execute()).toEqual([]);

    // A password change through POST /api/account/password (NIST SP 800-63B §5.1.9: a stolen device cookie stops
    // skipping the second factor once the owner changes the password).
    const changed = await enrolUser(t.app, t.clock, 'pw');
    const d = await signInWithCode(changed, true);
    expect(await passwordOnly(d, changed)).toBe('authenticated');
    const NEW_PASSWORD = 'a brand new passphrase 42';
    const change = await d.json('POST', '/api/account/password', { currentPassword: GOOD_PASSWORD, newPassword: NEW_PASSWORD, code: nextCode(changed) });
    expect(change.statusCode, change.body).toBe(200);
    expect(await t.deps.db.selectFrom('remembered_devices').select('id').where('user_id', '=', changed.userId).execute()).toEqual([]);
    expect(await countEvents(t.deps.db, changed.userId, 'remembered_devices_revoked')).toBe(1);
    await d.json('POST', '/api/auth/logout');
    const again = await d.json('POST', '/api/auth/login', { username: changed.username, password: NEW_PASSWORD });
    expect(again.json()).toEqual({ status: 'two_factor_required' });
    expect(await revokeRememberedDevices(t.deps, changed.userId, 'password_changed')).toBe(0);

    // The user forgets the device; another user cannot.
    const forget = await enrolUser(t.app, t.clock, 'forget');
    const e = await signInWithCode(forget, true);
    expect(await passwordOnly(e, forget)).toBe('authenticated');
    const [device] = (await e.json('GET', '/api/remembered-devices')).json().devices;
    const other = await enrolUser(t.app, t.clock, 'stranger');
    const stranger = await startSignIn(t.app, other.username);
    await stranger.json('POST', '/api/auth/login/two-factor', { code: nextCode(other) });
    expect((await stranger.request({ method: 'DELETE', url: `/api/remembered-devices/${device.id}` })).statusCode).toBe(404);
    expect((await e.request({ method: 'DELETE', url: `/api/remembered-devices/${device.id}` })).statusCode).toBe(204);
    await e.json('POST', '/api/auth/logout');
    expect(await passwordOnly(e, forget)).toBe('two_factor_required');
  });
});
