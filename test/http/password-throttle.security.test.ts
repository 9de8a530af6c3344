/**
 * Threat (issue 8, finding 2): online guessing of one account's password from many addresses, which the per-IP limit
 * alone does not stop. Per-account throttling in the database (NIST SP 800-63B §5.2.2, OWASP ASVS 2.2.1): after 10
 * consecutive wrong passwords every further attempt gets 429 + Retry-After WITHOUT its password being checked, for
 * 1 minute, doubling per further failure, capped at 1 hour; a success resets; instances sharing the database share the
 * count; an unknown username is throttled exactly like a real one. Time is an injected ManualClock. SQLite and PostgreSQL.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throttleWaitMs } from '../../src/modules/users/password-throttle.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { countEvents, FIXED_START, openSecondInstance } from '../helpers/two-factor-fixtures.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, type TestApp } from './app-harness.ts';

const ADDRESSES = ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4', '198.51.100.5'];

describe('throttleWaitMs (pure)', () => {
  it('no wait before the 10th failure, then 1 min doubling per failure, capped at 1 h', () => {
    expect([1, 9].map(throttleWaitMs)).toEqual([0, 0]);
    expect([10, 11, 12, 15, 16, 17, 100].map((n) => throttleWaitMs(n) / 1000)).toEqual([60, 120, 240, 1920, 3600, 3600, 3600]);
    expect(() => throttleWaitMs(0)).toThrow(TypeError);
  });
});

describe.each(TEST_DIALECTS)('per-account password throttle on %s', (kind) => {
  let t: TestApp;
  let n = 0;
  beforeAll(async () => {
    t = await createTestApp(kind);
    t.clock.set(FIXED_START);
  });
  afterAll(() => t.close());

  async function newUser(): Promise<{ username: string; userId: number }> {
    const username = `target${++n}`;
    const res = await new TestClient(t.app).json('POST', '/api/auth/register', { username, password: GOOD_PASSWORD });
    expect(res.statusCode, res.body).toBe(201);
    return { username, userId: res.json().user.id };
  }

  const login = (username: string, password: string, i = 0, app: FastifyInstance = t.app) =>
    app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password }, remoteAddress: ADDRESSES[i % ADDRESSES.length] });

  it('30 wrong passwords from 5 addresses: the first 10 are checked (401), the other 20 get 429 + Retry-After unchecked', async () => {
    const { username, userId } = await newUser();
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await login(username, `wrong password ${i}`, i);
      statuses.push(res.statusCode);
      if (res.statusCode === 429) {
        expect(res.json()).toMatchObject({ error: { code: 'too_many_attempts', retryAfterSeconds: 60 }, retryAfterSeconds: 60 });
        expect(res.headers['retry-after']).toBe('60');
      }
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual(Array(20).fill(429));
    // Security events record it: 10 checked failures, 20 refusals.
    expect(await countEvents(t.deps.db, userId, 'sign_in_failed')).toBe(10);
    expect(await countEvents(t.deps.db, userId, 'sign_in_throttled')).toBe(20);
  });

  it('the right password during the wait gets 429; after it, it signs in, reports the failures, and the count starts over', async () => {
    const { username } = await newUser();
    for (let i = 0; i < 10; i++) expect((await login(username, `wrong ${i}`, i)).statusCode).toBe(401);
    const during = await login(username, GOOD_PASSWORD);
    expect(during.statusCode).toBe(429);
    t.clock.advanceSeconds(59);
    expect((await login(username, GOOD_PASSWORD)).statusCode).toBe(429);
    expect((await login(username, GOOD_PASSWORD)).headers['retry-after']).toBe('1');
    t.clock.advanceSeconds(1);
    const after = await login(username, GOOD_PASSWORD);
    expect(after.statusCode, after.body).toBe(200);
    // 10 wrong + 3 refused before this success: the user is told.
    expect(after.json().failedAttemptsSinceLastSignIn).toBe(13);
    // Success reset the count: 9 more wrong passwords are all checked, and a success reports exactly those.
    for (let i = 0; i < 9; i++) expect((await login(username, `again ${i}`, i)).statusCode).toBe(401);
    const again = await login(username, GOOD_PASSWORD);
    expect(again.statusCode).toBe(200);
    expect(again.json().failedAttemptsSinceLastSignIn).toBe(9);
  });

  it('each further failure doubles the wait (1, 2, 4 … min), capped at 1 hour', async () => {
    const { username } = await newUser();
    for (let i = 0; i < 10; i++) await login(username, `wrong ${i}`, i);
    const waits: number[] = [];
    for (let failure = 11; failure <= 18; failure++) {
      const refused = await login(username, 'still wrong');
      expect(refused.statusCode).toBe(429);
      const wait = Number(refused.headers['retry-after']);
      waits.push(wait);
      t.clock.advanceSeconds(wait);
      expect((await login(username, `wrong again ${failure}`)).statusCode).toBe(401);
    }
    expect(waits).toEqual([60, 120, 240, 480, 960, 1920, 3600, 3600]);
  });

  it('an unknown username is throttled exactly like a real one (a 429 does not reveal that an account exists)', async () => {
    const { username } = await newUser();
    const real: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 12; i++) {
      real.push((await login(username, `wrong ${i}`, i)).statusCode);
      unknown.push((await login(`nobody${n}`, `wrong ${i}`, i)).statusCode);
    }
    expect(unknown).toEqual(real);
    const a = await login(username, 'x');
    const b = await login(`nobody${n}`, 'x');
    expect(b.json()).toEqual(a.json());
  });

  it('case and spaces do not give a second budget', async () => {
    const { username } = await newUser();
    for (let i = 0; i < 10; i++) await login(i % 2 ? username.toUpperCase() : ` ${username} `, `wrong ${i}`, i);
    expect((await login(username, GOOD_PASSWORD)).statusCode).toBe(429);
  });

  it('instances sharing the database share the count', async () => {
    const { username } = await newUser();
    const second = await openSecondInstance(t);
    try {
      for (let i = 0; i < 10; i++) expect((await login(username, `wrong ${i}`, i, i % 2 ? second.app : t.app)).statusCode).toBe(401);
      expect((await login(username, GOOD_PASSWORD, 0, second.app)).statusCode).toBe(429);
      expect((await login(username, GOOD_PASSWORD, 0, t.app)).statusCode).toBe(429);
    } finally {
      await second.close();
    }
  });

  it('30 parallel wrong passwords: at most 10 are checked (each attempt is counted before its password is)', async () => {
    const { username, userId } = await newUser();
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => login(username, `parallel ${i}`, i)));
    expect(answers.filter((r) => r.statusCode === 401)).toHaveLength(10);
    expect(answers.filter((r) => r.statusCode === 429)).toHaveLength(20);
    expect(await countEvents(t.deps.db, userId, 'sign_in_failed')).toBe(10);
  });

  it('the sign-in form shows the wait (429), and after signing in the home page tells how many attempts failed', async () => {
    const { username } = await newUser();
    for (let i = 0; i < 10; i++) await login(username, `wrong ${i}`, i);
    const c = new TestClient(t.app);
    let { csrf } = await c.page('/login');
    const refused = await c.form('/login', { username, password: GOOD_PASSWORD, _csrf: csrf });
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('60');
    expect(refused.body).toContain('Too many wrong passwords for this account');
    t.clock.advanceSeconds(60);
    ({ csrf } = await c.page('/login'));
    const ok = await c.form('/login', { username, password: GOOD_PASSWORD, _csrf: csrf });
    expect(ok.statusCode).toBe(303);
    const home = await c.page('/');
    expect(home.res.body).toContain('id="failed-attempts"');
    expect(home.res.body).toMatch(/<strong>11 failed sign-in attempts<\/strong>/);
  });
});
