/**
 * Threat: a password alone (stolen, phished or guessed) used as if it were a full sign-in. After the password step a
 * user with 2FA holds only a pending sign-in; it must reach NOTHING but the code step, logout and the public pages
 * (NIST SP 800-63B §4.2: AAL2 needs both factors; OWASP ASVS 2.8 / 3.2). This test walks EVERY route the app
 * registers (collected with an onRoute listener), so a route added later without the gate fails here.
 * And the reverse: a full session cannot use the code step. On SQLite and PostgreSQL.
 */
import type { RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionToken } from '../../src/modules/sessions/session-token.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, csrfOf, type TestApp } from './app-harness.ts';
import { FIXED_START, enrolUser, startSignIn, totpAt, readTwoFactorRow, type EnrolledUser } from '../helpers/two-factor-fixtures.ts';

/** Routes a pending sign-in may use: the code step, logout, and pages/endpoints that need no session at all. */
const SECOND_STEP = [
  'GET /login/two-factor', 'HEAD /login/two-factor', 'POST /login/two-factor', 'POST /api/auth/login/two-factor',
  'POST /api/auth/login/two-factor/passkey/options', 'POST /api/auth/login/two-factor/passkey',
];
const LOGOUT = ['POST /logout', 'POST /api/auth/logout'];
const PUBLIC = [
  'GET /healthz', 'HEAD /healthz',
  'GET /static/style.css', 'HEAD /static/style.css', 'GET /static/copy.js', 'HEAD /static/copy.js',
  'GET /static/favicon.svg', 'HEAD /static/favicon.svg', 'GET /favicon.ico', 'HEAD /favicon.ico',
  'GET /login', 'HEAD /login', 'POST /login', 'GET /register', 'HEAD /register', 'POST /register',
  'POST /api/auth/login', 'POST /api/auth/register',
  // Passkeys: the browser library and our script, and the passwordless sign-in (a passkey with UV is both factors).
  'GET /static/simplewebauthn-browser.js', 'HEAD /static/simplewebauthn-browser.js', 'GET /static/passkeys.js', 'HEAD /static/passkeys.js',
  'POST /api/auth/passkey/options', 'POST /api/auth/passkey',
];
const ALLOWED = new Set([...SECOND_STEP, ...LOGOUT, ...PUBLIC]);

describe.each(TEST_DIALECTS)('a pending two-factor sign-in grants nothing else, on %s', (kind) => {
  const routes = new Set<string>();
  let t: TestApp;
  let user: EnrolledUser;
  beforeAll(async () => {
    const collect = (route: RouteOptions) => {
      for (const method of [route.method].flat()) routes.add(`${method} ${route.url}`);
    };
    t = await createTestApp(kind, {}, false, undefined, { onRoute: collect });
    t.clock.set(FIXED_START);
    user = await enrolUser(t.app, t.clock, 'gate');
    t.clock.advanceSeconds(30);
  });
  afterAll(() => t.close());

  it('collected every route, and the allow-list names only routes that exist', () => {
    for (const known of ['GET /', 'GET /settings/security', 'GET /api/me', 'POST /api/2fa/disable', 'POST /api/2fa/backup-codes/regenerate', 'POST /settings/security/2fa/disable']) {
      expect(routes).toContain(known);
    }
    for (const allowed of ALLOWED) expect(routes, allowed).toContain(allowed);
    expect(routes.size).toBeGreaterThan(ALLOWED.size + 10);
  });

  it('every other route refuses it: API → 401 not_authenticated, pages → 303 to /login/two-factor; nothing changes', async () => {
    const c = await startSignIn(t.app, user.username);
    const token = c.cookies.get('crew_session')!;
    const csrf = csrfOf((await c.request({ method: 'GET', url: '/login/two-factor' })).body);
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/); // the pending session's own token, so CSRF is not what refuses below
    const before = { row: await readTwoFactorRow(t.deps.db, user.userId), sessions: await t.deps.db.selectFrom('sessions').selectAll().orderBy('id').execute() };
    // A right code in every body: a route that leaked past the gate would act on it.
    const code = totpAt(user, t.clock);

    const walked: string[] = [];
    for (const route of [...routes].sort()) {
      if (ALLOWED.has(route)) continue;
      const [method, pattern] = route.split(' ') as [string, string];
      // `:id`: a session's public id is 32 hex characters; a passkey's or a device's a number. Well-formed, so only the gate can refuse.
      const url = pattern.replace(/:id\b/, pattern.includes('/sessions/') ? '0'.repeat(32) : '1');
      expect(url, `${route} has a parameter; teach this walk to fill it`).not.toMatch(/[:*]/);
      const isApi = url.startsWith('/api/');
      const res = await c.request({
        method: method as 'GET',
        url,
        ...(method === 'POST'
          ? isApi
            ? { payload: { code, password: GOOD_PASSWORD }, headers: { 'content-type': 'application/json' } }
            : { payload: new URLSearchParams({ _csrf: csrf, code, password: GOOD_PASSWORD }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } }
          : {}),
      });
      if (isApi) {
        expect(res.statusCode, route).toBe(401);
        if (method !== 'HEAD') expect(res.json().error.code, route).toBe('not_authenticated');
      } else {
        expect(res.statusCode, route).toBe(303);
        expect(res.headers.location, route).toBe('/login/two-factor');
      }
      walked.push(route);
    }
    expect(walked.length).toBeGreaterThan(10);
    // Still the same pending session; no authenticator state touched; no full session appeared.
    expect(c.cookies.get('crew_session')).toBe(token);
    expect(await readTwoFactorRow(t.deps.db, user.userId)).toEqual(before.row);
    expect(await t.deps.db.selectFrom('sessions').selectAll().orderBy('id').execute()).toEqual(before.sessions);
    const mine = await t.deps.db.selectFrom('sessions').select('state').where('id', '=', hashSessionToken(token)).executeTakeFirstOrThrow();
    expect(mine.state).toBe('pending_two_factor');
    // And the code step still works afterwards with the code nobody used.
    expect((await c.json('POST', '/api/auth/login/two-factor', { code })).statusCode).toBe(200);
  });

  it('the allowed routes answer it as expected: the code step renders, public pages show the sign-in forms, logout ends it', async () => {
    const c = await startSignIn(t.app, user.username);
    const step = await c.request({ method: 'GET', url: '/login/two-factor' });
    expect(step.statusCode).toBe(200);
    expect(step.body).toContain('<label for="code">');
    expect(step.body).not.toContain('Signed in as'); // the layout shows no signed-in user
    for (const url of ['/login', '/register']) expect((await c.request({ method: 'GET', url })).statusCode).toBe(200);
    expect((await c.request({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const token = c.cookies.get('crew_session')!;
    expect((await c.json('POST', '/api/auth/logout')).statusCode).toBe(204);
    expect(await t.deps.db.selectFrom('sessions').select('id').where('id', '=', hashSessionToken(token)).executeTakeFirst()).toBeUndefined();
  });

  it('a full session or no session cannot use the code step', async () => {
    const anonymous = await t.app.inject({ method: 'POST', url: '/api/auth/login/two-factor', payload: { code: '123456' } });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().error.code).toBe('two_factor_pending_expired');
    expect((await t.app.inject({ method: 'GET', url: '/login/two-factor' })).headers.location).toBe('/login');

    const full = new TestClient(t.app);
    await full.json('POST', '/api/auth/register', { username: 'nofactor', password: GOOD_PASSWORD });
    const res = await full.json('POST', '/api/auth/login/two-factor', { code: '123456' });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('two_factor_pending_expired');
    const page = await full.request({ method: 'GET', url: '/login/two-factor' });
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe('/');
    expect((await full.json('GET', '/api/me')).statusCode).toBe(200); // still signed in
  });
});
