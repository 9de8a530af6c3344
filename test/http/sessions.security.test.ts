/**
 * Threats: session hijacking and fixation. A stolen database must not yield usable session tokens; a token planted
 * by an attacker before sign-in must never become a signed-in session; cookies must be out of reach of scripts and
 * of other sites' requests; stale sessions must die; framing, inline script and caching must be refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionToken } from '../../src/modules/sessions/session-token.ts';
import { SESSION_IDLE_TIMEOUT_MS } from '../../src/modules/sessions/session.service.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, type TestApp } from './app-harness.ts';

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
    const t = await createTestApp(kind, { TRUST_PROXY: 'true' });
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
