import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, csrfOf, type TestApp } from './app-harness.ts';
import { FIXED_START, enrolUser, postCode, startSignIn, totpAt, wrongCode, type EnrolledUser } from '../helpers/two-factor-fixtures.ts';

// The second sign-in step as HTML forms (no JavaScript needed), its notices, and the events it leaves on /settings/security.
describe.each(TEST_DIALECTS)('two-factor sign-in pages on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
    t.clock.set(FIXED_START);
  });
  afterAll(() => t.close());

  /** Signs in with the password through the form and returns the client (at /login/two-factor) and that page's CSRF token. */
  async function passwordStep(username: string): Promise<{ c: TestClient; csrf: string; body: string }> {
    const c = new TestClient(t.app);
    const { csrf } = await c.page('/login');
    const res = await c.form('/login', { username, password: GOOD_PASSWORD, _csrf: csrf });
    expect(res.headers.location).toBe('/login/two-factor');
    const page = await c.page('/login/two-factor');
    expect(page.res.statusCode).toBe(200);
    return { c, csrf: page.csrf, body: page.res.body };
  }

  it('password → code page (labelled, CSRF, no inline script) → wrong code shown in place → right code → home', async () => {
    const user = await enrolUser(t.app, t.clock, 'page');
    t.clock.advanceSeconds(30);
    const { c, csrf, body } = await passwordStep(user.username);
    expect(body).toContain('<label for="code">Code from your authenticator app</label>');
    expect(body).toContain('autocomplete="one-time-code"');
    expect(body).toContain('inputmode="numeric"');
    expect(body).toContain('<a href="/login/two-factor?method=backup">Use a backup code instead</a>');
    expect(body).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(body).not.toMatch(/\sstyle=|\son[a-z]+=/i);

    let res = await c.form('/login/two-factor', { code: wrongCode(user, t.clock), _csrf: csrf });
    expect(res.statusCode).toBe(401);
    expect(res.body).toContain('That code is not valid.');
    expect(res.body).toContain('aria-invalid="true"');
    res = await c.form('/login/two-factor', { code: totpAt(user, t.clock), _csrf: 'forged' });
    expect(res.statusCode).toBe(403);
    res = await c.form('/login/two-factor', { code: totpAt(user, t.clock), _csrf: csrf });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/');
    res = await c.request({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain(`Welcome, ${user.username}`);
    expect(res.body).not.toContain('id="low-backup-codes"');
  });

  it('a backup code signs in with a notice; with 3 or fewer codes left, home and settings warn', async () => {
    const user = await enrolUser(t.app, t.clock, 'page');
    for (const code of user.backupCodes.slice(0, 6)) expect((await postCode(await startSignIn(t.app, user.username), code)).statusCode).toBe(200);
    const { c, csrf } = await passwordStep(user.username);
    const res = await c.form('/login/two-factor', { code: user.backupCodes[6]!.toUpperCase(), _csrf: csrf });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/?notice=backup-code');
    const home = await c.request({ method: 'GET', url: '/?notice=backup-code' });
    expect(home.body).toContain('You signed in with a backup code.');
    expect(home.body).toContain('Only 3 backup codes left.');
    expect((await c.request({ method: 'GET', url: '/?notice=<b>x</b>' })).body).not.toContain('<b>x</b>');
    const settings = await c.request({ method: 'GET', url: '/settings/security' });
    expect(settings.body).toContain('Backup codes left: 3');
    expect(settings.body).toContain('id="low-backup-codes"');
  });

  it('the 5th wrong code sends the browser back to the password form with a notice', async () => {
    const user = await enrolUser(t.app, t.clock, 'page');
    const { c, csrf } = await passwordStep(user.username);
    for (let i = 0; i < 4; i++) expect((await c.form('/login/two-factor', { code: wrongCode(user, t.clock, i), _csrf: csrf })).statusCode).toBe(401);
    const fifth = await c.form('/login/two-factor', { code: wrongCode(user, t.clock, 4), _csrf: csrf });
    expect(fifth.statusCode).toBe(303);
    expect(fifth.headers.location).toBe('/login?notice=sign-in-expired');
    expect(c.cookies.has('crew_session')).toBe(false);
    const login = await c.request({ method: 'GET', url: fifth.headers.location as string });
    expect(login.statusCode).toBe(200);
    expect(login.body).toContain('sign in with your password again');
  });

  it('the lockout: the 10th wrong code shows the wait (429, Retry-After); the code page shows it too until it ends', async () => {
    const user = await enrolUser(t.app, t.clock, 'page');
    const first = await startSignIn(t.app, user.username);
    for (let i = 0; i < 5; i++) await postCode(first, wrongCode(user, t.clock, i));
    const { c, csrf } = await passwordStep(user.username);
    for (let i = 5; i < 9; i++) expect((await c.form('/login/two-factor', { code: wrongCode(user, t.clock, i), _csrf: csrf })).statusCode).toBe(401);
    const locked = await c.form('/login/two-factor', { code: wrongCode(user, t.clock, 9), _csrf: csrf });
    expect(locked.statusCode).toBe(429);
    expect(locked.headers['retry-after']).toBe('900');
    expect(locked.body).toContain('id="lockout"');
    expect(locked.body).toContain('15 minutes');
    expect(locked.body).not.toContain('action="/login/two-factor"');

    t.clock.advanceSeconds(60);
    const later = await passwordStep(user.username);
    expect(later.body).toContain('14 minutes');
    expect(later.body).toContain('even a correct one');
    t.clock.advanceSeconds(14 * 60);
    const after = await passwordStep(user.username);
    expect(after.body).not.toContain('id="lockout"');
    const res = await after.c.form('/login/two-factor', { code: totpAt(user, t.clock), _csrf: after.csrf });
    expect(res.headers.location).toBe('/');
  });

  it('/settings/security lists sign-in events (code, backup code, failures, replay, lockout) with readable labels and UTC times', async () => {
    const user = await enrolUser(t.app, t.clock, 'events');
    await postCode(await startSignIn(t.app, user.username), totpAt(user, t.clock)); // replay of the enable step
    await postCode(await startSignIn(t.app, user.username), wrongCode(user, t.clock));
    await postCode(await startSignIn(t.app, user.username), 'zzzzz-zzzzz');
    await postCode(await startSignIn(t.app, user.username), user.backupCodes[0]!);
    t.clock.advanceSeconds(30);
    const c = await startSignIn(t.app, user.username);
    expect((await postCode(c, totpAt(user, t.clock))).statusCode).toBe(200);
    for (let s = 0; s < 2; s++) {
      const p = await startSignIn(t.app, user.username);
      for (let i = 0; i < 5; i++) await postCode(p, wrongCode(user, t.clock, s * 5 + i));
    }
    const page = await c.request({ method: 'GET', url: '/settings/security' });
    for (const label of [
      'Two-factor sign-in locked for 15 minutes',
      'Reused two-factor code refused',
      'Wrong two-factor code',
      'Wrong backup code',
      'Signed in with a backup code (9 left)',
      'Signed in with an authenticator code',
      'Password accepted',
    ]) {
      expect(page.body, label).toContain(`<td>${label}</td>`);
    }
    expect(page.body).toMatch(
      /<tr><td><time datetime="2026-03-01T[\d:.]+Z"><span class="nowrap">2026-03-01<\/span> <span class="nowrap">\d\d:\d\d:\d\d UTC<\/span><\/time><\/td><td>Two-factor sign-in locked for 15 minutes<\/td>/,
    );
  });

  it('"Cancel sign-in" in the header of the code page ends the pending sign-in', async () => {
    const user = await enrolUser(t.app, t.clock, 'page');
    const { c, body } = await passwordStep(user.username);
    expect(body).toContain('Cancel sign-in');
    expect(body).not.toContain('Create account');
    const tokens = [...body.matchAll(/name="_csrf" value="([^"]*)"/g)].map((m) => m[1]);
    const res = await c.form('/logout', { _csrf: tokens[0]! });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/login?notice=sign-in-cancelled');
    expect((await c.request({ method: 'GET', url: '/login/two-factor' })).headers.location).toBe('/login');
    expect(new Set(tokens)).toEqual(new Set([csrfOf(body)])); // one token: the pending session's
  });
});
