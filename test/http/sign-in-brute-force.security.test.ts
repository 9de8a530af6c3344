/**
 * Threat: online guessing of the second factor by someone who already has the password. Three limits must hold through
 * HTTP: one pending sign-in allows at most 5 codes (then the password again); an account allows 10 consecutive wrong
 * codes across all sign-ins and instances, then locks for 15 minutes during which even the right code is refused with
 * 429 + retryAfterSeconds (NIST SP 800-63B §5.2.2, OWASP ASVS 2.2.1); a pending sign-in dies after 5 minutes; and each
 * IP is rate-limited (CREW_AUTH_RATE_LIMIT). Time is an injected ManualClock. On SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionToken } from '../../src/modules/sessions/session-token.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, type TestApp } from './app-harness.ts';
import { FIXED_START, enrolUser, eventTypes, openSecondInstance, postCode, startSignIn, totpAt, readTwoFactorRow, wrongCode } from '../helpers/two-factor-fixtures.ts';

describe.each(TEST_DIALECTS)('second-factor brute force through HTTP on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
    t.clock.set(FIXED_START);
  });
  afterAll(() => t.close());

  const sessionRow = (token: string) => t.deps.db.selectFrom('sessions').selectAll().where('id', '=', hashSessionToken(token)).executeTakeFirst();

  it('5 wrong codes drop the pending sign-in: the 5th answers 401 two_factor_pending_expired and the right code no longer helps', async () => {
    const user = await enrolUser(t.app, t.clock, 'cap');
    t.clock.advanceSeconds(30);
    const c = await startSignIn(t.app, user.username);
    const token = c.cookies.get('crew_session')!;
    for (let i = 1; i <= 4; i++) {
      const res = await postCode(c, wrongCode(user, t.clock, i));
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('invalid_code');
      expect(Number((await sessionRow(token))!.two_factor_failures)).toBe(i);
    }
    const fifth = await postCode(c, wrongCode(user, t.clock, 5));
    expect(fifth.statusCode).toBe(401);
    expect(fifth.json().error.code).toBe('two_factor_pending_expired');
    expect(await sessionRow(token)).toBeUndefined();
    expect(c.cookies.has('crew_session')).toBe(false);
    const late = await t.app.inject({ method: 'POST', url: '/api/auth/login/two-factor', payload: { code: totpAt(user, t.clock) }, headers: { cookie: `crew_session=${token}` } });
    expect(late.statusCode).toBe(401);
    expect(late.json().error.code).toBe('two_factor_pending_expired');
    const row = await readTwoFactorRow(t.deps.db, user.userId);
    expect(Number(row!.failed_attempts)).toBe(5); // counted against the account too, but not locked
    expect(row!.locked_until_ms).toBeNull();
    // The password starts a new pending sign-in, and the right code (never used) signs in.
    expect((await postCode(await startSignIn(t.app, user.username), totpAt(user, t.clock))).statusCode).toBe(200);
  });

  it('20 parallel wrong codes on ONE pending sign-in get at most 5 checked (each takes its slot before it is verified)', async () => {
    const user = await enrolUser(t.app, t.clock, 'cap');
    const c = await startSignIn(t.app, user.username);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => postCode(c, wrongCode(user, t.clock, i))));
    for (const res of answers) {
      expect(res.statusCode).toBe(401);
      expect(['invalid_code', 'two_factor_pending_expired']).toContain(res.json().error.code);
    }
    const row = await readTwoFactorRow(t.deps.db, user.userId);
    expect(Number(row!.failed_attempts)).toBe(5);
    expect((await eventTypes(t.deps.db, user.userId)).filter((e) => e === 'two_factor_code_failed')).toHaveLength(5);
    expect(answers.filter((r) => r.json().error.code === 'invalid_code')).toHaveLength(4);
  });

  it('locks the account after 10 wrong codes across pending sign-ins; the right code is refused with 429 + retryAfterSeconds until the lock expires', async () => {
    const user = await enrolUser(t.app, t.clock, 'lock');
    t.clock.advanceSeconds(30);
    // Sign-in 1: 5 wrong codes (the 5th ends it). Sign-in 2: 4 wrong, then the 10th locks the account.
    const first = await startSignIn(t.app, user.username);
    for (let i = 0; i < 5; i++) expect((await postCode(first, wrongCode(user, t.clock, i))).statusCode).toBe(401);
    const second = await startSignIn(t.app, user.username);
    for (let i = 5; i < 9; i++) expect((await postCode(second, wrongCode(user, t.clock, i))).statusCode).toBe(401);
    const tenth = await postCode(second, wrongCode(user, t.clock, 9));
    expect(tenth.statusCode).toBe(429);
    expect(tenth.json()).toEqual({
      error: { code: 'too_many_attempts', message: expect.any(String), retryAfterSeconds: 900 },
      retryAfterSeconds: 900,
    });
    expect(tenth.headers['retry-after']).toBe('900');

    // During the lock: the password still starts a pending sign-in, but the right TOTP or backup code is refused and
    // nothing is used up (NIST SP 800-63B §5.2.2).
    const before = await readTwoFactorRow(t.deps.db, user.userId);
    t.clock.advanceSeconds(300);
    const during = await startSignIn(t.app, user.username);
    const right = await postCode(during, totpAt(user, t.clock));
    expect(right.statusCode).toBe(429);
    expect(right.json().retryAfterSeconds).toBe(600);
    expect(right.json().error.retryAfterSeconds).toBe(600);
    expect(right.headers['retry-after']).toBe('600');
    const backup = await postCode(during, user.backupCodes[0]!);
    expect(backup.statusCode).toBe(429);
    const after = await readTwoFactorRow(t.deps.db, user.userId);
    expect(after!.last_used_totp_step).toEqual(before!.last_used_totp_step);
    expect(after!.backup_codes).toEqual(before!.backup_codes);
    expect((await eventTypes(t.deps.db, user.userId)).filter((e) => e === 'two_factor_lockout')).toHaveLength(1);

    // The lock ends 15 minutes after the 10th failure (injected clock); the right code then signs in.
    t.clock.advanceSeconds(599);
    expect((await postCode(await startSignIn(t.app, user.username), totpAt(user, t.clock))).statusCode).toBe(429);
    t.clock.advanceSeconds(1);
    const ok = await postCode(await startSignIn(t.app, user.username), totpAt(user, t.clock));
    expect(ok.statusCode, ok.body).toBe(200);
    expect(Number((await readTwoFactorRow(t.deps.db, user.userId))!.failed_attempts)).toBe(0);
  });

  it('a second lockout without a success in between lasts twice as long', async () => {
    const user = await enrolUser(t.app, t.clock, 'lock');
    const fail = async (from: number) => {
      let last = 0;
      for (let s = 0; s < 2; s++) {
        const c = await startSignIn(t.app, user.username);
        for (let i = 0; i < 5; i++) last = (await postCode(c, wrongCode(user, t.clock, from + s * 5 + i))).statusCode;
      }
      return last;
    };
    expect(await fail(0)).toBe(429);
    t.clock.advanceSeconds(15 * 60);
    expect(await fail(10)).toBe(429);
    const res = await postCode(await startSignIn(t.app, user.username), totpAt(user, t.clock, 1));
    expect(res.json().retryAfterSeconds).toBe(1800);
  });

  it('a pending sign-in expires after 5 minutes: the code step then answers 401 two_factor_pending_expired', async () => {
    const user = await enrolUser(t.app, t.clock, 'expiry');
    const early = await startSignIn(t.app, user.username);
    t.clock.advanceSeconds(299);
    expect((await postCode(early, totpAt(user, t.clock))).statusCode).toBe(200);

    const late = await startSignIn(t.app, user.username);
    t.clock.advanceSeconds(300);
    const res = await postCode(late, totpAt(user, t.clock));
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('two_factor_pending_expired');
    const page = await late.request({ method: 'GET', url: '/login/two-factor' });
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe('/login');
  });
});

describe.each(TEST_DIALECTS)('per-IP rate limit on the code step on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, { CREW_AUTH_RATE_LIMIT: '3/minute' });
    t.clock.set(FIXED_START);
  });
  afterAll(() => t.close());

  it('the 4th code from one IP in a minute → 429 with retryAfterSeconds before the code is checked; another IP is not affected', async () => {
    // Every sign-in and 2FA route shares one per-IP counter, so enrol through a second instance (its own in-memory
    // budget) and enter the password from another address: the 3 requests counted for 198.51.100.1 are the codes alone.
    const other = await openSecondInstance(t);
    const user = await enrolUser(other.app, t.clock, 'ip');
    await other.close();
    const c = new TestClient(t.app);
    const login = await c.request({ method: 'POST', url: '/api/auth/login', payload: { username: user.username, password: GOOD_PASSWORD }, headers: { 'content-type': 'application/json' }, remoteAddress: '198.51.100.9' });
    expect(login.json()).toMatchObject({ status: 'two_factor_required' });
    const from = (ip: string, code: string) =>
      c.request({ method: 'POST', url: '/api/auth/login/two-factor', payload: { code }, headers: { 'content-type': 'application/json' }, remoteAddress: ip });
    for (let i = 0; i < 3; i++) expect((await from('198.51.100.1', wrongCode(user, t.clock, i))).statusCode).toBe(401);
    const limited = await from('198.51.100.1', wrongCode(user, t.clock, 3));
    expect(limited.statusCode).toBe(429);
    expect(limited.json().retryAfterSeconds).toBeGreaterThan(0);
    expect(Number((await readTwoFactorRow(t.deps.db, user.userId))!.failed_attempts)).toBe(3); // the limited request was not checked
    expect((await from('198.51.100.2', wrongCode(user, t.clock, 4))).statusCode).toBe(401);
  });
});
