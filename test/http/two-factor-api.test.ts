import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionToken } from '../../src/modules/sessions/session-token.ts';
import { generateTotp } from '../../src/modules/two-factor/totp.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, type TestApp } from './app-harness.ts';

describe.each(TEST_DIALECTS)('2FA enrolment JSON API on %s', (kind) => {
  let t: TestApp;
  let c: TestClient;
  let userId: number;
  let secret = '';
  const row = () => t.deps.db.selectFrom('two_factor_auth').selectAll().where('user_id', '=', userId).executeTakeFirst();

  beforeAll(async () => {
    t = await createTestApp(kind);
    c = new TestClient(t.app);
    userId = (await c.json('POST', '/api/auth/register', { username: 'dana', password: GOOD_PASSWORD })).json().user.id;
  });
  afterAll(() => t.close());

  it('setup/enable need a session (401)', async () => {
    expect((await t.app.inject({ method: 'POST', url: '/api/2fa/setup' })).statusCode).toBe(401);
    const res = await t.app.inject({ method: 'POST', url: '/api/2fa/enable', payload: { code: '123456' } });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('not_authenticated');
  });

  it('GET /api/2fa/status before enrolment', async () => {
    const res = await c.json('GET', '/api/2fa/status');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ enabled: false, createdAt: null, backupCodesRemaining: 0 });
  });

  it('enable before setup → 409 two_factor_not_set_up', async () => {
    const res = await c.json('POST', '/api/2fa/enable', { code: '123456' });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('two_factor_not_set_up');
  });

  it('POST /api/2fa/setup → 200 {secret, otpauthUri, qrSvg}, not cached, stored encrypted', async () => {
    const res = await c.json('POST', '/api/2fa/setup');
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['otpauthUri', 'qrSvg', 'secret']);
    expect(body.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(body.otpauthUri).toMatch(/^otpauth:\/\/totp\/Production%20Crew:dana\?/);
    expect(body.qrSvg).toMatch(/^<svg/);
    secret = body.secret;
    const stored = await row();
    expect(stored!.secret).toMatch(/^v1\./);
    expect(Boolean(Number(stored!.enabled))).toBe(false);
  });

  it('setup again replaces the not-yet-enabled secret', async () => {
    const again = (await c.json('POST', '/api/2fa/setup')).json();
    expect(again.secret).not.toBe(secret);
    secret = again.secret;
  });

  it('enable with a wrong or malformed code → 4xx and changes nothing', async () => {
    const before = await row();
    const wrong = await c.json('POST', '/api/2fa/enable', { code: generateTotp(secret, new Date(t.clock.now().getTime() - 10 * 60_000)) });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('invalid_code');
    for (const code of ['12345', 'abcdef', '1234567', '']) {
      const res = await c.json('POST', '/api/2fa/enable', { code });
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
    }
    expect(await row()).toEqual(before);
  });

  it('POST /api/2fa/enable with the current code → 200 {backupCodes: 10}', async () => {
    const res = await c.json('POST', '/api/2fa/enable', { code: generateTotp(secret, t.clock.now()) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const { backupCodes } = res.json();
    expect(backupCodes).toHaveLength(10);
    for (const code of backupCodes) expect(code).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
    const stored = await row();
    for (const code of backupCodes) expect(stored!.backup_codes).not.toContain(code);
    const status = (await c.json('GET', '/api/2fa/status')).json();
    expect(status).toEqual({ enabled: true, createdAt: expect.any(String), backupCodesRemaining: 10 });
    expect(Number.isNaN(Date.parse(status.createdAt))).toBe(false);
    expect((await c.json('GET', '/api/me')).json().twoFactor).toEqual({ enabled: true, backupCodesRemaining: 10 });
  });

  it('after enabling: setup and enable → 409; the audit trail has each event', async () => {
    expect((await c.json('POST', '/api/2fa/setup')).statusCode).toBe(409);
    expect((await c.json('POST', '/api/2fa/enable', { code: generateTotp(secret, t.clock.now()) })).statusCode).toBe(409);
    const types = (await t.deps.db.selectFrom('security_events').select('type').where('user_id', '=', userId).execute()).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['register', 'two_factor_setup', 'two_factor_enabled']));
  });

  it('login with 2FA enabled → 200 two_factor_required and a pending session that grants nothing else', async () => {
    const p = new TestClient(t.app);
    const res = await p.json('POST', '/api/auth/login', { username: 'dana', password: GOOD_PASSWORD });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'two_factor_required' });
    const sessionRow = await t.deps.db.selectFrom('sessions').selectAll().where('id', '=', hashSessionToken(p.cookies.get('crew_session')!)).executeTakeFirstOrThrow();
    expect(sessionRow.state).toBe('pending_two_factor');
    expect(Number(sessionRow.expires_at_ms) - Number(sessionRow.created_at_ms)).toBe(5 * 60_000);
    for (const [method, url] of [['GET', '/api/me'], ['GET', '/api/2fa/status'], ['POST', '/api/2fa/setup']] as const) {
      const denied = await p.json(method, url);
      expect(denied.statusCode).toBe(401);
    }
    const page = await p.request({ method: 'GET', url: '/settings/security' });
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe('/login/two-factor');
    expect((await p.json('POST', '/api/auth/logout')).statusCode).toBe(204);
  });
});
