/**
 * Threat: a session opened elsewhere (a shared computer, a stolen cookie) that the user cannot see or end; and a list
 * that leaks the tokens it lists. GET /api/sessions lists the user's sessions by a PUBLIC id (never the cookie token or
 * its stored hash); DELETE /api/sessions/:id ends one of the caller's OWN sessions (another user's id → 404, like a
 * made-up one); POST /api/sessions/revoke-others ends all the others (OWASP ASVS 3.3.4; NIST SP 800-63B §7.1).
 * /settings/security lists them with CSRF-protected buttons that work without JavaScript. On SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionToken } from '../../src/modules/sessions/session-token.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { countEvents, FIXED_START } from '../helpers/two-factor-fixtures.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, type TestApp } from './app-harness.ts';

describe.each(TEST_DIALECTS)('sessions API on %s', (kind) => {
  let t: TestApp;
  let n = 0;
  beforeAll(async () => {
    t = await createTestApp(kind);
    t.clock.set(FIXED_START);
  });
  afterAll(() => t.close());

  async function signIn(username: string, userAgent: string, ip = '203.0.113.9'): Promise<TestClient> {
    const c = new TestClient(t.app);
    const res = await c.request({ method: 'POST', url: '/api/auth/login', payload: { username, password: GOOD_PASSWORD }, headers: { 'content-type': 'application/json', 'user-agent': userAgent }, remoteAddress: ip });
    expect(res.statusCode, res.body).toBe(200);
    return c;
  }
  async function register(): Promise<{ username: string; userId: number; client: TestClient }> {
    const username = `lister${++n}`;
    const client = new TestClient(t.app);
    const res = await client.json('POST', '/api/auth/register', { username, password: GOOD_PASSWORD });
    return { username, userId: res.json().user.id, client };
  }

  it('lists id, createdAt, lastSeenAt, ip, userAgent, current — and no id is the token or its hash', async () => {
    const { username, client } = await register();
    t.clock.advanceSeconds(5);
    const firefox = await signIn(username, 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', '198.51.100.20');
    const res = await firefox.json('GET', '/api/sessions');
    expect(res.statusCode).toBe(200);
    const { sessions } = res.json() as { sessions: Array<Record<string, unknown>> };
    expect(sessions).toHaveLength(2);
    const current = sessions.find((s) => s.current)!;
    expect(current).toEqual({ id: expect.stringMatching(/^[0-9a-f]{32}$/), createdAt: expect.any(String), lastSeenAt: expect.any(String), ip: '198.51.100.20', userAgent: expect.stringContaining('Firefox/128.0'), current: true });
    expect(sessions.filter((s) => !s.current)).toHaveLength(1);
    const secrets = [client, firefox].flatMap((c) => [c.cookies.get('crew_session')!, hashSessionToken(c.cookies.get('crew_session')!)]);
    for (const secret of secrets) expect(res.body).not.toContain(secret);
  });

  it('DELETE ends one own session (204); another user’s session id and a made-up one are 404 and end nothing', async () => {
    const alice = await register();
    const aliceLaptop = await signIn(alice.username, 'laptop');
    const bob = await register();
    const bobIds = ((await bob.client.json('GET', '/api/sessions')).json().sessions as Array<{ id: string }>).map((s) => s.id);
    const forOther = await alice.client.request({ method: 'DELETE', url: `/api/sessions/${bobIds[0]}` });
    expect(forOther.statusCode).toBe(404);
    expect((await bob.client.json('GET', '/api/me')).statusCode).toBe(200);
    expect((await alice.client.request({ method: 'DELETE', url: `/api/sessions/${'0'.repeat(32)}` })).statusCode).toBe(404);
    const laptopId = ((await aliceLaptop.json('GET', '/api/sessions')).json().sessions as Array<{ id: string; current: boolean }>).find((s) => s.current)!.id;
    const ended = await alice.client.request({ method: 'DELETE', url: `/api/sessions/${laptopId}` });
    expect(ended.statusCode).toBe(204);
    expect((await aliceLaptop.json('GET', '/api/me')).statusCode).toBe(401);
    expect((await alice.client.json('GET', '/api/me')).statusCode).toBe(200);
    expect(await countEvents(t.deps.db, alice.userId, 'session_revoked')).toBe(1);
  });

  it('POST /api/sessions/revoke-others ends every other session and keeps this one', async () => {
    const { username, userId, client } = await register();
    const others = [await signIn(username, 'a'), await signIn(username, 'b'), await signIn(username, 'c')];
    const res = await client.json('POST', '/api/sessions/revoke-others', {});
    expect(res.statusCode).toBe(204);
    for (const o of others) expect((await o.json('GET', '/api/me')).statusCode).toBe(401);
    expect((await client.json('GET', '/api/sessions')).json().sessions).toHaveLength(1);
    expect(await countEvents(t.deps.db, userId, 'other_sessions_revoked')).toBe(1);
  });

  it('/settings/security lists the sessions with forms (CSRF) that sign one out or all others, without JavaScript', async () => {
    const { username, client } = await register();
    const other = await signIn(username, 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36');
    const { res, csrf } = await client.page('/settings/security');
    expect(res.body).toContain('Signed-in sessions');
    expect(res.body).toContain('Chrome on Windows');
    expect(res.body).toContain('(this session)');
    const otherId = ((await other.json('GET', '/api/sessions')).json().sessions as Array<{ id: string; current: boolean }>).find((s) => s.current)!.id;
    expect(res.body).toContain(`action="/settings/security/sessions/${otherId}/revoke"`);
    expect((await client.form(`/settings/security/sessions/${otherId}/revoke`, { _csrf: 'forged' })).statusCode).toBe(403);
    expect((await other.json('GET', '/api/me')).statusCode).toBe(200);
    const done = await client.form(`/settings/security/sessions/${otherId}/revoke`, { _csrf: csrf });
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe('/settings/security?notice=session-ended');
    expect((await other.json('GET', '/api/me')).statusCode).toBe(401);
    const third = await signIn(username, 'x');
    const all = await client.form('/settings/security/sessions/revoke-others', { _csrf: csrf });
    expect(all.headers.location).toBe('/settings/security?notice=other-sessions-ended');
    expect((await third.json('GET', '/api/me')).statusCode).toBe(401);
    expect((await client.json('GET', '/api/me')).statusCode).toBe(200);
  });
});
