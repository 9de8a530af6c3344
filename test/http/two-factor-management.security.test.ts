/**
 * Threat: a stolen signed-in session (an unlocked laptop, a hijacked cookie) used to weaken the account — minting new
 * backup codes or turning 2FA off — without the phone and the password. Regenerating needs a TOTP code; disabling needs
 * the password AND a code; a wrong one changes nothing and counts toward the account lockout; turning 2FA off signs
 * out every other session (NIST SP 800-63B §6.1.2; OWASP ASVS 2.8.x, 3.3.3). JSON API and HTML forms, SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, csrfOf, type TestApp } from './app-harness.ts';
import { FIXED_START, enrolUser, eventTypes, postCode, startSignIn, totpAt, readTwoFactorRow, wrongCode, type EnrolledUser } from '../helpers/two-factor-fixtures.ts';

describe.each(TEST_DIALECTS)('regenerate backup codes and disable 2FA on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
    t.clock.set(FIXED_START);
  });
  afterAll(() => t.close());

  /** Enrols a user and signs in fully (at a fresh TOTP step), returning the signed-in client. */
  async function signedInUser(prefix: string): Promise<{ user: EnrolledUser; c: TestClient }> {
    const user = await enrolUser(t.app, t.clock, prefix);
    t.clock.advanceSeconds(30);
    const c = await startSignIn(t.app, user.username);
    expect((await postCode(c, totpAt(user, t.clock))).statusCode).toBe(200);
    t.clock.advanceSeconds(30); // the next code is a new step
    return { user, c };
  }

  it('POST /api/2fa/backup-codes/regenerate: a wrong or replayed code changes nothing; the right TOTP code → 10 new codes, the old ones die', async () => {
    const { user, c } = await signedInUser('regen');
    const before = await readTwoFactorRow(t.deps.db, user.userId);
    const wrong = await c.json('POST', '/api/2fa/backup-codes/regenerate', { code: wrongCode(user, t.clock) });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('invalid_code');
    const replay = await c.json('POST', '/api/2fa/backup-codes/regenerate', { code: totpAt(user, t.clock, -1) }); // used at sign-in
    expect(replay.statusCode).toBe(401);
    expect((await readTwoFactorRow(t.deps.db, user.userId))!.backup_codes).toEqual(before!.backup_codes);

    const ok = await c.json('POST', '/api/2fa/backup-codes/regenerate', { code: totpAt(user, t.clock) });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.headers['cache-control']).toBe('no-store');
    const { backupCodes } = ok.json();
    expect(backupCodes).toHaveLength(10);
    expect(backupCodes.filter((x: string) => user.backupCodes.includes(x))).toEqual([]);
    expect((await c.json('GET', '/api/2fa/status')).json().backupCodesRemaining).toBe(10);
    expect(await eventTypes(t.deps.db, user.userId)).toContain('backup_codes_regenerated');

    expect((await postCode(await startSignIn(t.app, user.username), user.backupCodes[0]!)).statusCode).toBe(401);
    const fresh = await postCode(await startSignIn(t.app, user.username), backupCodes[0]);
    expect(fresh.statusCode).toBe(200);
    expect(fresh.json().backupCodesRemaining).toBe(9);
  });

  // Nit: regenerate refuses backup codes (a leaked one must not mint more), so its 400 must not invite "one of your
  // backup codes" as the code-step message does; it says backup codes are not accepted here.
  it('regenerate refuses a backup code or junk with 400 invalid_input and a message that does not offer backup codes', async () => {
    const { user, c } = await signedInUser('regenmsg');
    const before = await readTwoFactorRow(t.deps.db, user.userId);
    for (const code of [user.backupCodes[0]!, 'abcdef']) {
      const res = await c.json('POST', '/api/2fa/backup-codes/regenerate', { code });
      expect(res.statusCode, code).toBe(400);
      expect(res.json().error.code).toBe('invalid_input');
      expect(res.json().error.message).toBe('Enter the 6-digit code from your authenticator app; backup codes are not accepted here.');
      expect(res.json().error.message).not.toContain('or one of your backup codes');
    }
    const page = await c.form('/settings/security/2fa/backup-codes', { code: user.backupCodes[0]!, _csrf: csrfOf((await c.request({ method: 'GET', url: '/settings/security' })).body) });
    expect(page.statusCode).toBe(400);
    expect(page.body).toContain('backup codes are not accepted here');
    expect(await readTwoFactorRow(t.deps.db, user.userId)).toEqual(before);
    // The code step still offers both.
    const pending = await startSignIn(t.app, user.username);
    expect((await postCode(pending, 'abcdef')).json().error.message).toContain('or one of your backup codes');
  });

  it('POST /api/2fa/disable: wrong password or wrong code changes nothing (and a wrong password spends no code); password + code → off, other sessions signed out', async () => {
    const { user, c } = await signedInUser('disable');
    const other = await startSignIn(t.app, user.username);
    expect((await postCode(other, user.backupCodes[0]!)).statusCode).toBe(200);
    const before = await readTwoFactorRow(t.deps.db, user.userId);

    const badPassword = await c.json('POST', '/api/2fa/disable', { password: 'not my password at all', code: totpAt(user, t.clock) });
    expect(badPassword.statusCode).toBe(401);
    expect(badPassword.json().error.code).toBe('invalid_credentials');
    const badCode = await c.json('POST', '/api/2fa/disable', { password: GOOD_PASSWORD, code: wrongCode(user, t.clock) });
    expect(badCode.statusCode).toBe(401);
    expect(badCode.json().error.code).toBe('invalid_code');
    const after = await readTwoFactorRow(t.deps.db, user.userId);
    const counters = { failed_attempts: 0, reservedAttempts: 0, updated_at_ms: 0 };
    expect({ ...after, ...counters }).toEqual({ ...before, ...counters });
    expect(Number(after!.failed_attempts)).toBe(2); // both count toward the lockout
    expect((await other.json('GET', '/api/me')).statusCode).toBe(200);

    // The code offered with the wrong password was not spent: it still works.
    const ok = await c.json('POST', '/api/2fa/disable', { password: GOOD_PASSWORD, code: totpAt(user, t.clock) });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toEqual({ twoFactor: { enabled: false } });
    expect(await readTwoFactorRow(t.deps.db, user.userId)).toBeUndefined();
    expect((await other.json('GET', '/api/me')).statusCode).toBe(401);
    expect((await c.json('GET', '/api/me')).json().twoFactor).toEqual({ enabled: false, backupCodesRemaining: 0 });
    expect(await eventTypes(t.deps.db, user.userId)).toContain('two_factor_disabled');

    const again = await c.json('POST', '/api/2fa/disable', { password: GOOD_PASSWORD, code: totpAt(user, t.clock, 1) });
    expect(again.statusCode).toBe(409);
    expect((await c.json('POST', '/api/2fa/backup-codes/regenerate', { code: '123456' })).statusCode).toBe(409);
    const login = await new TestClient(t.app).json('POST', '/api/auth/login', { username: user.username, password: GOOD_PASSWORD });
    expect(login.json().status).toBe('authenticated');
  });

  it('10 wrong passwords while disabling lock the account: 429 with retryAfterSeconds, then even the right pair is refused', async () => {
    const { user, c } = await signedInUser('disablelock');
    let last = await c.json('POST', '/api/2fa/disable', { password: 'wrong password 0', code: totpAt(user, t.clock) });
    for (let i = 1; i < 10; i++) last = await c.json('POST', '/api/2fa/disable', { password: `wrong password ${i}`, code: totpAt(user, t.clock) });
    expect(last.statusCode).toBe(429);
    expect(last.json().retryAfterSeconds).toBe(900);
    const right = await c.json('POST', '/api/2fa/disable', { password: GOOD_PASSWORD, code: totpAt(user, t.clock) });
    expect(right.statusCode).toBe(429);
    expect((await readTwoFactorRow(t.deps.db, user.userId))!.enabled).toBeTruthy();
  });

  it('/settings/security forms: regenerate shows the new codes once; disable asks password + code; errors show beside the form; CSRF is required', async () => {
    const { user, c } = await signedInUser('forms');
    let page = await c.request({ method: 'GET', url: '/settings/security' });
    const csrf = csrfOf(page.body);
    expect(page.body).toContain('action="/settings/security/2fa/backup-codes"');
    expect(page.body).toContain('action="/settings/security/2fa/disable"');
    expect(page.body).toContain('<label for="disable-password">');

    expect((await c.form('/settings/security/2fa/backup-codes', { code: totpAt(user, t.clock) })).statusCode).toBe(403);
    expect((await c.form('/settings/security/2fa/disable', { password: GOOD_PASSWORD, code: totpAt(user, t.clock), _csrf: 'forged' })).statusCode).toBe(403);
    expect(await readTwoFactorRow(t.deps.db, user.userId)).toBeDefined();

    page = await c.form('/settings/security/2fa/backup-codes', { code: wrongCode(user, t.clock), _csrf: csrf });
    expect(page.statusCode).toBe(401);
    expect(page.body).toContain('id="regenerate-error"');
    page = await c.form('/settings/security/2fa/backup-codes', { code: totpAt(user, t.clock), _csrf: csrf });
    expect(page.statusCode).toBe(200);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.body).toContain('Your new backup codes');
    const codes = [...page.body.matchAll(/<li><code>([a-z2-9]{5}-[a-z2-9]{5})<\/code><\/li>/g)].map((m) => m[1]);
    expect(codes).toHaveLength(10);

    t.clock.advanceSeconds(30);
    page = await c.form('/settings/security/2fa/disable', { password: 'not my password at all', code: totpAt(user, t.clock), _csrf: csrf });
    expect(page.statusCode).toBe(401);
    expect(page.body).toContain('id="disable-error"');
    expect(page.body).toContain('Wrong password.');
    const res = await c.form('/settings/security/2fa/disable', { password: GOOD_PASSWORD, code: codes[0]!, _csrf: csrf });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/settings/security?notice=two-factor-disabled');
    page = await c.request({ method: 'GET', url: res.headers.location as string });
    expect(page.body).toContain('Two-factor authentication is off.');
    expect(page.body).toContain('Enable 2FA');
    expect(page.body).toContain('Two-factor authentication disabled');
  });
});
