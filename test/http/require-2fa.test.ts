import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireSession } from '../../src/http/plugins/require-session.ts';
import { generateTotp } from '../../src/modules/two-factor/totp.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, type TestApp } from './app-harness.ts';

// A route in a plain requireSession() context, standing in for every route the policy covers.
async function protectedRoute(app: FastifyInstance): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onRequest', requireSession());
    scope.get('/api/test/protected', async () => ({ ok: true }));
  });
}

async function enrol(t: TestApp, c: TestClient): Promise<void> {
  const { secret } = (await c.json('POST', '/api/2fa/setup', { password: GOOD_PASSWORD })).json();
  expect((await c.json('POST', '/api/2fa/enable', { code: generateTotp(secret, t.clock.now()) })).statusCode).toBe(200);
}

describe.each(TEST_DIALECTS)('CREW_REQUIRE_2FA=all on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, { CREW_REQUIRE_2FA: 'all' }, false, protectedRoute);
  });
  afterAll(() => t.close());

  it('a user without 2FA reaches only security settings, set-up, /api/me and logout', async () => {
    const c = new TestClient(t.app);
    await c.json('POST', '/api/auth/register', { username: 'liam', password: GOOD_PASSWORD });
    const denied = await c.json('GET', '/api/test/protected');
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toEqual({ error: { code: 'two_factor_required', message: expect.any(String) } });
    const home = await c.request({ method: 'GET', url: '/' });
    expect(home.statusCode).toBe(303);
    expect(home.headers.location).toBe('/settings/security');
    const security = await c.request({ method: 'GET', url: '/settings/security' });
    expect(security.statusCode).toBe(200);
    expect(security.body).toContain('requires two-factor authentication');
    expect((await c.json('GET', '/api/me')).statusCode).toBe(200);
    expect((await c.json('GET', '/api/2fa/status')).statusCode).toBe(200);
    await enrol(t, c);
    expect((await c.json('GET', '/api/test/protected')).statusCode).toBe(200);
    expect((await c.request({ method: 'GET', url: '/' })).statusCode).toBe(200);
    expect((await c.json('POST', '/api/auth/logout')).statusCode).toBe(204);
  });

  // Threat: a stolen session plus the password turns off a factor the organisation requires.
  it('refuses to turn 2FA off for a covered user, even with the right password and code', async () => {
    const c = new TestClient(t.app);
    await c.json('POST', '/api/auth/register', { username: 'mona', password: GOOD_PASSWORD });
    await enrol(t, c);
    t.clock.advanceSeconds(30);
    const status = (await c.json('GET', '/api/2fa/status')).json();
    expect(status.enabled).toBe(true);
    const refused = await c.json('POST', '/api/2fa/disable', { password: GOOD_PASSWORD, code: '123456' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('forbidden');
    expect(refused.json().error.message).toContain('cannot be turned off');
    expect((await c.json('GET', '/api/2fa/status')).json().enabled).toBe(true);
  });
});

describe.each(TEST_DIALECTS)('CREW_REQUIRE_2FA=admins on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, { CREW_REQUIRE_2FA: 'admins' }, false, protectedRoute);
  });
  afterAll(() => t.close());

  it('covers admins only', async () => {
    const user = new TestClient(t.app);
    await user.json('POST', '/api/auth/register', { username: 'mia', password: GOOD_PASSWORD });
    expect((await user.json('GET', '/api/test/protected')).statusCode).toBe(200);
    const admin = new TestClient(t.app);
    await admin.json('POST', '/api/auth/register', { username: 'noah', password: GOOD_PASSWORD });
    await t.deps.db.updateTable('users').set({ role: 'admin' }).where('username', '=', 'noah').execute();
    expect((await admin.json('GET', '/api/test/protected')).statusCode).toBe(403);
    expect((await admin.request({ method: 'GET', url: '/' })).headers.location).toBe('/settings/security');
  });
});

describe.each(TEST_DIALECTS)('CREW_REQUIRE_2FA=off on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, {}, false, protectedRoute);
  });
  afterAll(() => t.close());

  it('lets everyone in; still 401 without a session', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/test/protected' })).statusCode).toBe(401);
    const c = new TestClient(t.app);
    await c.json('POST', '/api/auth/register', { username: 'olga', password: GOOD_PASSWORD });
    expect((await c.json('GET', '/api/test/protected')).statusCode).toBe(200);
  });
});
