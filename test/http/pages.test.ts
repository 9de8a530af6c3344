import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTotp } from '../../src/modules/two-factor/totp.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, csrfOf, type TestApp } from './app-harness.ts';

const secretOf = (html: string) => /id="manual-key"><code>([A-Z2-7 ]+)<\/code>/.exec(html)?.[1]?.replace(/ /g, '') ?? '';

describe.each(TEST_DIALECTS)('HTML pages on %s', (kind) => {
  let t: TestApp;
  let c: TestClient;
  beforeAll(async () => {
    t = await createTestApp(kind);
    c = new TestClient(t.app);
  });
  afterAll(() => t.close());

  it('signed-out: / and /settings/security redirect to /login; /login and /register render labelled forms', async () => {
    for (const url of ['/', '/settings/security', '/settings/security/2fa/setup']) {
      const res = await c.request({ method: 'GET', url });
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe('/login');
    }
    for (const url of ['/login', '/register']) {
      const { res, csrf } = await c.page(url);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(res.body).toContain('<label for="username">');
      expect(res.body).toContain('<label for="password">');
      expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)/); // no inline scripts
      expect(res.body).not.toMatch(/\sstyle=|\son[a-z]+=/i); // no inline styles or event handlers
    }
    expect(c.cookies.get('crew_csrf')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('static files are served with their types', async () => {
    const css = await c.request({ method: 'GET', url: '/static/style.css' });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    const js = await c.request({ method: 'GET', url: '/static/copy.js' });
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect((await c.request({ method: 'GET', url: '/static/../package.json' })).statusCode).toBe(404);
  });

  it('POST /register without or with a wrong CSRF token → 403 and no account', async () => {
    const other = new TestClient(t.app);
    const missing = await other.form('/register', { username: 'gina', password: GOOD_PASSWORD });
    expect(missing.statusCode).toBe(403);
    const { csrf } = await c.page('/register');
    const foreign = await other.form('/register', { username: 'gina', password: GOOD_PASSWORD, _csrf: csrf }); // token without its cookie
    expect(foreign.statusCode).toBe(403);
    expect(foreign.body).toContain('The form expired');
    const users = await t.deps.db.selectFrom('users').select('id').where('username', '=', 'gina').execute();
    expect(users).toHaveLength(0);
  });

  it('register form shows problems in place and keeps what was typed (never the password)', async () => {
    const { csrf } = await c.page('/register');
    const res = await c.form('/register', { username: 'gina', email: 'gina@example.com', password: 'password1', _csrf: csrf });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('role="alert"');
    expect(res.body).toContain('value="gina"');
    expect(res.body).toContain('aria-invalid="true"');
    expect(res.body).not.toContain('password1');
  });

  it('titles say "Error:" on a form shown again with its error, focus goes to the field in error, a 404 is "Page not found"', async () => {
    const { res: first, csrf } = await c.page('/register');
    expect(first.body).toContain('<title>Create an account · Production Crew</title>');
    expect(first.body).toMatch(/<input id="username"[^>]* autofocus>/); // first load: the first field
    const res = await c.form('/register', { username: 'hana', email: '', password: 'short', _csrf: csrf });
    expect(res.body).toContain('<title>Error: Create an account · Production Crew</title>');
    expect(res.body).toMatch(/<input id="password"[^>]* aria-invalid="true" autofocus>/);
    expect(res.body).not.toMatch(/<input id="username"[^>]*(aria-invalid|autofocus)/);
    const missing = await c.request({ method: 'GET', url: '/no/such/page' });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toContain('<title>Page not found · Production Crew</title>');
    expect(missing.body).toContain('<h1>Page not found</h1>');
  });

  it('register → home → security → Enable 2FA → QR page → wrong code → right code → backup codes', async () => {
    let { csrf } = await c.page('/register');
    let res = await c.form('/register', { username: 'gina', email: '', password: GOOD_PASSWORD, _csrf: csrf });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/');
    res = await c.request({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Welcome, gina');

    ({ res, csrf } = await c.page('/settings/security'));
    expect(res.body).toContain('Enable 2FA');
    expect(res.body).toContain('Account created');
    res = await c.form('/settings/security/2fa/setup', { password: GOOD_PASSWORD, _csrf: csrf });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/settings/security/2fa/setup');

    ({ res, csrf } = await c.page('/settings/security/2fa/setup'));
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/<figure class="qr" id="qr-code">\s*<svg role="img"/);
    const secret = secretOf(res.body);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(res.body).toContain('<label for="code">');

    res = await c.form('/settings/security/2fa/enable', { code: 'abcdef', _csrf: csrf });
    expect(res.statusCode).toBe(400); // not 6 digits: invalid input, as on the JSON route
    expect(res.body).toContain('Enter the 6-digit code from your authenticator app.');
    res = await c.form('/settings/security/2fa/enable', { code: '000000', _csrf: csrfOf(res.body) });
    expect(res.statusCode).toBe(401); // a well-formed wrong code
    expect(res.body).toContain('That code is not valid.');
    expect(secretOf(res.body)).toBe(secret);

    const code = generateTotp(secret, t.clock.now());
    res = await c.form('/settings/security/2fa/enable', { code: `${code.slice(0, 3)} ${code.slice(3)}`, _csrf: csrfOf(res.body) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const codes = [...res.body.matchAll(/<li><code>([a-z2-9]{5}-[a-z2-9]{5})<\/code><\/li>/g)].map((m) => m[1]);
    expect(codes).toHaveLength(10);
    expect(res.body).toContain('download="production-crew-backup-codes.txt"');
    expect(res.body).toContain('href="data:text/plain;charset=utf-8,');
    expect(res.body).toContain('<script src="/static/copy.js" defer></script>');

    ({ res } = await c.page('/settings/security'));
    expect(res.body).toContain('Backup codes left: 10');
    expect(res.body).toContain('Two-factor authentication enabled');
    expect(res.body).not.toContain('Enable 2FA');
  });

  it('POST /logout with the session token signs out; without it → 403', async () => {
    const { csrf } = await c.page('/');
    expect((await c.form('/logout', { _csrf: 'wrong' })).statusCode).toBe(403);
    const res = await c.form('/logout', { _csrf: csrf });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/login?notice=signed-out');
    expect((await c.request({ method: 'GET', url: res.headers.location })).body).toContain('You have signed out.');
    expect(c.cookies.has('crew_session')).toBe(false);
  });

  it('login form: wrong password → 401 page; with 2FA → pending sign-in redirected to /login/two-factor', async () => {
    let { csrf } = await c.page('/login');
    let res = await c.form('/login', { username: 'gina', password: 'wrong wrong wrong', _csrf: csrf });
    expect(res.statusCode).toBe(401);
    expect(res.body).toContain('Wrong username or password.');
    ({ csrf } = await c.page('/login'));
    res = await c.form('/login', { username: 'gina', password: GOOD_PASSWORD, _csrf: csrf });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/login/two-factor');
    res = await c.request({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/login/two-factor');
  });

  it('login form without 2FA signs in at once', async () => {
    const d = new TestClient(t.app);
    await d.json('POST', '/api/auth/register', { username: 'hank', password: GOOD_PASSWORD });
    await d.json('POST', '/api/auth/logout');
    const { csrf } = await d.page('/login');
    const res = await d.form('/login', { username: 'HANK', password: GOOD_PASSWORD, _csrf: csrf });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/');
    expect((await d.request({ method: 'GET', url: '/login' })).headers.location).toBe('/');
  });

  it('unknown pages → 404 HTML', async () => {
    const res = await c.request({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
  });
});
