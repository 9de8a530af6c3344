import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { werkzeugHash } from '../helpers/werkzeug-hash.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, type TestApp } from './app-harness.ts';

describe.each(TEST_DIALECTS)('auth JSON API on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(() => t.close());

  const userCount = async () => Number((await t.deps.db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  it('POST /api/auth/register → 201 {user:{id, username}} and signs in', async () => {
    const c = new TestClient(t.app);
    const res = await c.json('POST', '/api/auth/register', { username: 'Alice', password: GOOD_PASSWORD, email: 'alice@example.com' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ user: { id: expect.any(Number), username: 'alice' } });
    const me = await c.json('GET', '/api/me');
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual({
      user: { id: expect.any(Number), username: 'alice', email: 'alice@example.com', role: 'user' },
      twoFactor: { enabled: false, backupCodesRemaining: 0 },
    });
  });

  it('register refuses a duplicate (409), a weak password and a bad username (400) without writing', async () => {
    const c = new TestClient(t.app);
    const before = await userCount();
    const dup = await c.json('POST', '/api/auth/register', { username: 'ALICE', password: GOOD_PASSWORD });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toEqual({ error: { code: 'username_taken', message: expect.any(String) } });
    const weak = await c.json('POST', '/api/auth/register', { username: 'bob', password: 'password1' });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().error).toMatchObject({ code: 'invalid_input', details: { field: 'password', reason: 'too_common' } });
    expect((await c.json('POST', '/api/auth/register', { username: 'b', password: GOOD_PASSWORD })).statusCode).toBe(400);
    expect((await c.json('POST', '/api/auth/register', { username: 'bob', password: GOOD_PASSWORD, email: 'x' })).statusCode).toBe(400);
    expect(await userCount()).toBe(before);
    expect(c.cookies.has('crew_session')).toBe(false);
  });

  it('POST /api/auth/login → 200 authenticated; wrong password and unknown user answer identically', async () => {
    const c = new TestClient(t.app);
    const ok = await c.json('POST', '/api/auth/login', { username: 'alice', password: GOOD_PASSWORD });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ status: 'authenticated', user: { id: expect.any(Number), username: 'alice' }, failedAttemptsSinceLastSignIn: expect.any(Number) });
    expect(c.cookies.has('crew_session')).toBe(true);
    const wrong = await new TestClient(t.app).json('POST', '/api/auth/login', { username: 'alice', password: 'not the password' });
    const unknown = await new TestClient(t.app).json('POST', '/api/auth/login', { username: 'nobody', password: 'not the password' });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.body).toBe(unknown.body);
    expect(wrong.json()).toEqual({ error: { code: 'invalid_credentials', message: expect.any(String) } });
  });

  it('POST /api/auth/logout → 204, deletes the session row, and is idempotent', async () => {
    const c = new TestClient(t.app);
    await c.json('POST', '/api/auth/login', { username: 'alice', password: GOOD_PASSWORD });
    const sessionsBefore = Number((await t.deps.db.selectFrom('sessions').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const token = c.cookies.get('crew_session')!;
    const out = await c.json('POST', '/api/auth/logout');
    expect(out.statusCode).toBe(204);
    expect(out.body).toBe('');
    const sessionsAfter = Number((await t.deps.db.selectFrom('sessions').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    expect(sessionsAfter).toBe(sessionsBefore - 1);
    expect(c.cookies.has('crew_session')).toBe(false);
    const replay = await t.app.inject({ method: 'GET', url: '/api/me', headers: { cookie: `crew_session=${token}` } });
    expect(replay.statusCode).toBe(401);
    expect((await c.json('POST', '/api/auth/logout')).statusCode).toBe(204);
  });

  it('GET /api/me and GET /api/2fa/status need a session (401)', async () => {
    for (const url of ['/api/me', '/api/2fa/status']) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error: { code: 'not_authenticated', message: expect.any(String) } });
    }
  });

  it('GET /healthz → 200 when the database answers', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('unknown API paths → 404 in the error shape', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
  });
});

describe.each(TEST_DIALECTS)('closed registration on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, { CREW_REGISTRATION: 'closed' });
  });
  afterAll(() => t.close());

  it('POST /api/auth/register → 403 registration_closed; GET /register says so', async () => {
    const res = await new TestClient(t.app).json('POST', '/api/auth/register', { username: 'carol', password: GOOD_PASSWORD });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('registration_closed');
    const page = await t.app.inject({ method: 'GET', url: '/register' });
    expect(page.statusCode).toBe(403);
    expect(page.body).toContain('Registration is closed');
  });
});

describe.each(TEST_DIALECTS)('CREW_AUTH_RATE_LIMIT on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, { CREW_AUTH_RATE_LIMIT: '3/minute' });
  });
  afterAll(() => t.close());

  it('the 4th sign-in attempt in a minute from one IP → 429 with retryAfterSeconds and Retry-After', async () => {
    const c = new TestClient(t.app);
    for (let i = 0; i < 3; i++) expect((await c.json('POST', '/api/auth/login', { username: 'x-user', password: 'wrong password' })).statusCode).toBe(401);
    const res = await c.json('POST', '/api/auth/login', { username: 'x-user', password: 'wrong password' });
    expect(res.statusCode).toBe(429);
    expect(res.json()).toEqual({
      error: { code: 'too_many_attempts', message: expect.any(String), retryAfterSeconds: expect.any(Number) },
      retryAfterSeconds: expect.any(Number),
    });
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });

  // Threat: with a budget per route, an attacker gets CREW_AUTH_RATE_LIMIT guesses on each of the API and form variants
  // of login, the code step and registration. Every sign-in and 2FA route draws on ONE per-IP counter (OWASP ASVS 2.2.1).
  it('one per-IP budget for all sign-in routes: API login + form login + API register use it up, then the 4th on any → 429', async () => {
    const ip = '203.0.113.20';
    const c = new TestClient(t.app);
    const { csrf } = await c.page('/login'); // GET pages are not limited
    const json = (url: string, body: object) => c.request({ method: 'POST', url, payload: body, headers: { 'content-type': 'application/json' }, remoteAddress: ip });
    const form = (url: string, fields: Record<string, string>) =>
      c.request({ method: 'POST', url, payload: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' }, remoteAddress: ip });
    const login = () => json('/api/auth/login', { username: 'x-user', password: 'wrong password' });
    const loginForm = () => form('/login', { username: 'x-user', password: 'wrong password', _csrf: csrf });
    const register = () => json('/api/auth/register', { username: 'y-user', password: 'short' });

    expect((await login()).statusCode).toBe(401);
    expect((await loginForm()).statusCode).toBe(401);
    expect((await register()).statusCode).toBe(400);
    for (const send of [login, loginForm, register]) {
      const res = await send();
      expect(res.statusCode).toBe(429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    // The limit is per IP: another address still has its own budget.
    const other = await c.request({ method: 'POST', url: '/api/auth/login', payload: { username: 'x-user', password: 'wrong password' }, headers: { 'content-type': 'application/json' }, remoteAddress: '203.0.113.21' });
    expect(other.statusCode).toBe(401);
  });
});

/**
 * Legacy data: users adopted from the earlier Flask app have Werkzeug hashes (pbkdf2:sha256 or scrypt). They must be able
 * to sign in, and that sign-in replaces the hash by argon2id (OWASP Password Storage Cheat Sheet: upgrade on login).
 */
describe.each(TEST_DIALECTS)('sign-in with an adopted Werkzeug password hash on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(() => t.close());

  const storedHash = async (username: string) =>
    (await t.deps.db.selectFrom('users').select('password_hash').where('username', '=', username).executeTakeFirstOrThrow()).password_hash;

  it('POST /api/auth/login and the /login form accept it once, store argon2id, and keep working', async () => {
    const users: Array<[string, string]> = [['Flask_Pbkdf2', 'pbkdf2:sha256:600000'], ['Flask_Scrypt', 'scrypt:32768:8:1']];
    for (const [username, method] of users) {
      await t.deps.db.insertInto('users').values({ username, email: null, password_hash: werkzeugHash(GOOD_PASSWORD, method, 'Zr4kP9sQw2LmN7xT') }).execute();
    }
    const wrong = await new TestClient(t.app).json('POST', '/api/auth/login', { username: 'flask_pbkdf2', password: 'not the password at all' });
    expect(wrong.statusCode).toBe(401);
    expect(await storedHash('Flask_Pbkdf2')).toMatch(/^pbkdf2:sha256:600000\$/);

    const api = await new TestClient(t.app).json('POST', '/api/auth/login', { username: 'flask_pbkdf2', password: GOOD_PASSWORD });
    expect(api.statusCode, api.body).toBe(200);
    expect(api.json()).toMatchObject({ status: 'authenticated', user: { username: 'Flask_Pbkdf2' } });
    const browser = new TestClient(t.app);
    const { csrf } = await browser.page('/login');
    const form = await browser.form('/login', { username: 'Flask_Scrypt', password: GOOD_PASSWORD, _csrf: csrf });
    expect(form.statusCode).toBe(303);
    expect(form.headers.location).toBe('/');
    expect((await browser.request({ method: 'GET', url: '/' })).statusCode).toBe(200);

    for (const [username] of users) {
      expect(await storedHash(username)).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      const again = await new TestClient(t.app).json('POST', '/api/auth/login', { username, password: GOOD_PASSWORD });
      expect(again.json().status).toBe('authenticated');
    }
  });
});
