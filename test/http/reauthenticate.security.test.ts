/**
 * Threat (issue 8, finding 1): someone holding a stolen session cookie but not the password calls POST /api/2fa/setup and
 * /api/2fa/enable with their own authenticator, which signs the owner out and locks them out of their own account.
 * Re-authentication (NIST SP 800-63B §6.1.2; OWASP ASVS 3.7.1) makes set-up ask for the password; a wrong one is 401
 * invalid_credentials and is counted by the per-account password throttle like a failed sign-in. On SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTotp } from '../../src/modules/two-factor/totp.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { eventTypes, FIXED_START } from '../helpers/two-factor-fixtures.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, type TestApp } from './app-harness.ts';

describe.each(TEST_DIALECTS)('re-authentication before 2FA set-up on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
    t.clock.set(FIXED_START);
  });
  afterAll(() => t.close());

  async function register(username: string): Promise<{ owner: TestClient; userId: number }> {
    const owner = new TestClient(t.app);
    const res = await owner.json('POST', '/api/auth/register', { username, password: GOOD_PASSWORD });
    expect(res.statusCode, res.body).toBe(201);
    return { owner, userId: res.json().user.id };
  }

  it('the hijack fails: a stolen cookie without the password cannot set up, so cannot enable, 2FA', async () => {
    const { owner, userId } = await register('victim');
    const attacker = new TestClient(t.app);
    attacker.cookies.set('crew_session', owner.cookies.get('crew_session')!);
    for (const body of [undefined, {}, { password: '' }, { password: 'guess number one' }]) {
      const res = body === undefined ? await attacker.request({ method: 'POST', url: '/api/2fa/setup' }) : await attacker.json('POST', '/api/2fa/setup', body);
      expect(res.statusCode, res.body).toBe(401);
      expect(res.json().error.code).toBe('invalid_credentials');
    }
    // Nothing was set up, so enabling with any code has nothing to confirm.
    const enable = await attacker.json('POST', '/api/2fa/enable', { code: '123456' });
    expect(enable.statusCode).toBe(409);
    expect(enable.json().error.code).toBe('two_factor_not_set_up');
    expect(await t.deps.db.selectFrom('two_factor_auth').select('id').where('user_id', '=', userId).executeTakeFirst()).toBeUndefined();
    // The owner is still signed in and can set up 2FA with the password.
    expect((await owner.json('GET', '/api/me')).statusCode).toBe(200);
    const setup = await owner.json('POST', '/api/2fa/setup', { password: GOOD_PASSWORD });
    expect(setup.statusCode, setup.body).toBe(200);
    const enabled = await owner.json('POST', '/api/2fa/enable', { code: generateTotp(setup.json().secret, t.clock.now()) });
    expect(enabled.statusCode, enabled.body).toBe(200);
  });

  it('a set-up left open can be finished only within 10 minutes of the password: later a stolen cookie can neither read its secret nor enable it', async () => {
    const { owner, userId } = await register('leftopen');
    const setup = await owner.json('POST', '/api/2fa/setup', { password: GOOD_PASSWORD });
    expect(setup.statusCode).toBe(200);
    expect((await owner.request({ method: 'GET', url: '/settings/security/2fa/setup' })).statusCode).toBe(200);
    t.clock.advanceSeconds(10 * 60);
    const attacker = new TestClient(t.app);
    attacker.cookies.set('crew_session', owner.cookies.get('crew_session')!);
    const page = await attacker.request({ method: 'GET', url: '/settings/security/2fa/setup' });
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe('/settings/security?notice=setup-expired');
    expect(page.body).not.toContain(setup.json().secret);
    const settings = await attacker.request({ method: 'GET', url: '/settings/security' });
    expect(settings.body).not.toContain('Continue the set-up you started');
    const enable = await attacker.json('POST', '/api/2fa/enable', { code: generateTotp(setup.json().secret, t.clock.now()) });
    expect(enable.statusCode).toBe(409);
    expect(enable.json()).toMatchObject({ error: { code: 'two_factor_not_set_up', message: expect.stringContaining('expired') } });
    const { csrf } = await attacker.page('/settings/security');
    const form = await attacker.form('/settings/security/2fa/enable', { code: generateTotp(setup.json().secret, t.clock.now()), _csrf: csrf });
    expect(form.statusCode).toBe(303);
    expect(form.headers.location).toBe('/settings/security?notice=setup-expired');
    const row = await t.deps.db.selectFrom('two_factor_auth').select('enabled').where('user_id', '=', userId).executeTakeFirstOrThrow();
    expect(Number(row.enabled)).toBe(0);
    // The owner confirms the password again and finishes.
    const again = await owner.json('POST', '/api/2fa/setup', { password: GOOD_PASSWORD });
    expect((await owner.json('POST', '/api/2fa/enable', { code: generateTotp(again.json().secret, t.clock.now()) })).statusCode).toBe(200);
  });

  it('a wrong password on set-up counts like a failed sign-in: 10 of them make sign-in wait (429), even with the right password', async () => {
    const { owner, userId } = await register('counted');
    for (let i = 0; i < 10; i++) expect((await owner.json('POST', '/api/2fa/setup', { password: `wrong password ${i}` })).statusCode).toBe(401);
    const events = await eventTypes(t.deps.db, userId);
    expect(events.filter((e) => e === 'sign_in_failed')).toHaveLength(10);
    const signIn = await new TestClient(t.app).json('POST', '/api/auth/login', { username: 'counted', password: GOOD_PASSWORD });
    expect(signIn.statusCode).toBe(429);
    expect(signIn.headers['retry-after']).toBe('60');
    const setup = await owner.json('POST', '/api/2fa/setup', { password: GOOD_PASSWORD });
    expect(setup.statusCode).toBe(429);
    t.clock.advanceSeconds(60);
    expect((await owner.json('POST', '/api/2fa/setup', { password: GOOD_PASSWORD })).statusCode).toBe(200);
  });

  it('the set-up form asks for the password: a wrong one re-renders the page with 401 and the field marked', async () => {
    const { owner } = await register('former');
    const { csrf } = await owner.page('/settings/security');
    const wrong = await owner.form('/settings/security/2fa/setup', { password: 'not my password', _csrf: csrf });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).toContain('id="setup-error"');
    expect(wrong.body).toMatch(/id="setup-password"[^>]*aria-invalid="true"/);
    const right = await owner.form('/settings/security/2fa/setup', { password: GOOD_PASSWORD, _csrf: csrf });
    expect(right.statusCode).toBe(303);
    expect(right.headers.location).toBe('/settings/security/2fa/setup');
  });
});
