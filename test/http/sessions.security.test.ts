/**
 * Threats: session hijacking and fixation. A stolen database must not yield usable session tokens; a token planted
 * by an attacker before sign-in must never become a signed-in session; cookies must be out of reach of scripts and
 * of other sites' requests; stale sessions must die; framing, inline script and caching must be refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionToken } from '../../src/modules/sessions/session-token.ts';
import { SESSION_IDLE_TIMEOUT_MS } from '../../src/modules/sessions/session.service.ts';
import { generateTotp } from '../../src/modules/two-factor/totp.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, csrfOf, type TestApp } from './app-harness.ts';

function sessionCookieOf(setCookie: string | string[] | undefined): string {
  const all = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  return all.find((c) => c.startsWith('crew_session=')) ?? '';
}

describe.each(TEST_DIALECTS)('session security on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
    await new TestClient(t.app).json('POST', '/api/auth/register', { username: 'ivy', password: GOOD_PASSWORD });
  });
  afterAll(() => t.close());

  it('the cookie is HttpOnly, SameSite=Lax, Path=/, and not Secure over plain HTTP with CREW_COOKIE_SECURE=auto', async () => {
    const res = await new TestClient(t.app).json('POST', '/api/auth/login', { username: 'ivy', password: GOOD_PASSWORD });
    const cookie = sessionCookieOf(res.headers['set-cookie']);
    expect(cookie).toMatch(/^crew_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).toContain('Path=/');
    expect(cookie).not.toContain('Secure');
    // X-Forwarded-Proto is not trusted without TRUST_PROXY.
    const spoofed = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'ivy', password: GOOD_PASSWORD }, headers: { 'x-forwarded-proto': 'https' } });
    expect(sessionCookieOf(spoofed.headers['set-cookie'])).not.toContain('Secure');
  });

  it('only the SHA-256 of the token is stored', async () => {
    const c = new TestClient(t.app);
    await c.json('POST', '/api/auth/login', { username: 'ivy', password: GOOD_PASSWORD });
    const token = c.cookies.get('crew_session')!;
    const rows = await t.deps.db.selectFrom('sessions').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(rows.some((r) => r.id === hashSessionToken(token))).toBe(true);
  });

  it('sign-in replaces a planted or existing session token (no fixation)', async () => {
    const c = new TestClient(t.app);
    c.cookies.set('crew_session', 'A'.repeat(43)); // planted, unknown to the server
    await c.json('POST', '/api/auth/login', { username: 'ivy', password: GOOD_PASSWORD });
    const first = c.cookies.get('crew_session')!;
    expect(first).not.toBe('A'.repeat(43));
    await c.json('POST', '/api/auth/login', { username: 'ivy', password: GOOD_PASSWORD });
    const second = c.cookies.get('crew_session')!;
    expect(second).not.toBe(first);
    const old = await t.app.inject({ method: 'GET', url: '/api/me', headers: { cookie: `crew_session=${first}` } });
    expect(old.statusCode).toBe(401);
    expect((await c.json('GET', '/api/me')).statusCode).toBe(200);
  });

  it('an idle session expires (401) and its cookie is cleared', async () => {
    const c = new TestClient(t.app);
    await c.json('POST', '/api/auth/login', { username: 'ivy', password: GOOD_PASSWORD });
    t.clock.advanceSeconds(SESSION_IDLE_TIMEOUT_MS / 1000 + 1);
    const res = await c.json('GET', '/api/me');
    expect(res.statusCode).toBe(401);
    expect(c.cookies.has('crew_session')).toBe(false);
  });

  it('security headers: strict CSP without inline script, no framing, nosniff, same-origin referrer', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/login' });
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('same-origin');
  });
});

describe.each(TEST_DIALECTS)('cookie Secure flag on %s', (kind) => {
  it('CREW_COOKIE_SECURE=true always sets Secure', async () => {
    const t = await createTestApp(kind, { CREW_COOKIE_SECURE: 'true' });
    try {
      const res = await new TestClient(t.app).json('POST', '/api/auth/register', { username: 'jack', password: GOOD_PASSWORD });
      expect(sessionCookieOf(res.headers['set-cookie'])).toContain('Secure');
    } finally {
      await t.close();
    }
  });

  it('auto + TRUST_PROXY sets Secure when the proxy says https', async () => {
    const t = await createTestApp(kind, { TRUST_PROXY: '1' });
    try {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/auth/register',
        payload: { username: 'kate', password: GOOD_PASSWORD },
        headers: { 'x-forwarded-proto': 'https' },
      });
      expect(res.statusCode).toBe(201);
      expect(sessionCookieOf(res.headers['set-cookie'])).toContain('Secure');
    } finally {
      await t.close();
    }
  });
});

/**
 * Threat: a user turns on 2FA because their password leaked, yet the attacker's password-only session stays signed in,
 * and the user's own session keeps the token it had before the privilege change. Rule: enabling 2FA rotates the current
 * session (new token and CSRF token, OWASP ASVS 3.2.1) and signs out every other session of the user (ASVS 3.3.3).
 */
describe.each(TEST_DIALECTS)('enabling 2FA ends password-only sessions on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(() => t.close());

  /** B registers (and stays signed in); A signs in elsewhere with the same password alone. */
  async function twoSessions(username: string): Promise<{ a: TestClient; b: TestClient; userId: number }> {
    const b = new TestClient(t.app);
    const userId = (await b.json('POST', '/api/auth/register', { username, password: GOOD_PASSWORD })).json().user.id as number;
    const a = new TestClient(t.app);
    expect((await a.json('POST', '/api/auth/login', { username, password: GOOD_PASSWORD })).json().status).toBe('authenticated');
    expect((await a.json('GET', '/api/me')).statusCode).toBe(200);
    return { a, b, userId };
  }

  const sessionIds = async (userId: number) =>
    (await t.deps.db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute()).map((r) => r.id);

  it('POST /api/2fa/enable signs out session A and moves B to a new token: the old one is refused, the new cookie works', async () => {
    const { a, b, userId } = await twoSessions('kim');
    const { secret } = (await b.json('POST', '/api/2fa/setup', { password: GOOD_PASSWORD })).json();
    const oldToken = b.cookies.get('crew_session')!;
    const aToken = a.cookies.get('crew_session')!;

    const enabled = await b.json('POST', '/api/2fa/enable', { code: generateTotp(secret, t.clock.now()) });
    expect(enabled.statusCode, enabled.body).toBe(200);
    expect(enabled.json().backupCodes).toHaveLength(10);
    const newToken = b.cookies.get('crew_session')!;
    expect(newToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newToken).not.toBe(oldToken);

    for (const token of [oldToken, aToken]) {
      const res = await t.app.inject({ method: 'GET', url: '/api/me', headers: { cookie: `crew_session=${token}` } });
      expect(res.statusCode).toBe(401);
    }
    expect((await a.json('GET', '/api/me')).statusCode).toBe(401);
    const me = await b.json('GET', '/api/me');
    expect(me.statusCode).toBe(200);
    expect(me.json().twoFactor).toEqual({ enabled: true, backupCodesRemaining: 10 });
    expect(await sessionIds(userId)).toEqual([hashSessionToken(newToken)]);
  });

  it('the enable form does the same, and the backup-codes page that follows carries the NEW session\'s CSRF token', async () => {
    const { a, b, userId } = await twoSessions('lou');
    const { secret } = (await b.json('POST', '/api/2fa/setup', { password: GOOD_PASSWORD })).json();
    const oldToken = b.cookies.get('crew_session')!;
    const { csrf: oldCsrf } = await b.page('/settings/security/2fa/setup');

    const page = await b.form('/settings/security/2fa/enable', { code: generateTotp(secret, t.clock.now()), _csrf: oldCsrf });
    expect(page.statusCode, page.body).toBe(200);
    expect(page.body).toContain('Save these backup codes now.');
    const newToken = b.cookies.get('crew_session')!;
    expect(newToken).not.toBe(oldToken);
    expect((await a.json('GET', '/api/me')).statusCode).toBe(401);
    expect(await sessionIds(userId)).toEqual([hashSessionToken(newToken)]);

    const session = await t.deps.db.selectFrom('sessions').select('csrf_token').where('id', '=', hashSessionToken(newToken)).executeTakeFirstOrThrow();
    const pageCsrf = csrfOf(page.body);
    expect(pageCsrf).toBe(session.csrf_token);
    expect(pageCsrf).not.toBe(oldCsrf);
    // A form posted from the backup-codes page (sign out, in the layout) is accepted; the old token is not.
    expect((await b.form('/logout', { _csrf: oldCsrf })).statusCode).toBe(403);
    const out = await b.form('/logout', { _csrf: pageCsrf });
    expect(out.statusCode).toBe(303);
    expect(await sessionIds(userId)).toEqual([]);
  });
});
