/**
 * Threat: replay of a second factor at sign-in. Someone who saw a TOTP code (shoulder-surfing, a phishing relay, a
 * logged request, the code typed at enrolment) or a used backup code tries it again while it is still valid —
 * sequentially, as 20 racing requests, or through another app instance sharing the database. Each TOTP time step and
 * each backup code must sign in at most once (RFC 6238 §5.2; NIST SP 800-63B §5.1.2.2, §5.1.4.2; OWASP ASVS 2.8.4).
 * Everything goes through HTTP (app.inject), on SQLite and PostgreSQL.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/lib/app-error.ts';
import { hashSessionToken } from '../../src/modules/sessions/session-token.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { TestClient, createTestApp, type TestApp } from './app-harness.ts';
import { FIXED_START, enrolUser, eventTypes, openSecondInstance, postCode, startSignIn, startSignIns, totpAt, readTwoFactorRow } from '../helpers/two-factor-fixtures.ts';

/** Exactly one answer is a sign-in; every other one is a refusal (401 wrong/used code or 429 lockout), never a 5xx. */
function expectExactlyOneSuccess(answers: LightMyRequestResponse[]): void {
  const statuses = answers.map((r) => r.statusCode);
  expect(statuses.filter((s) => s === 200)).toHaveLength(1);
  for (const s of statuses.filter((x) => x !== 200)) expect([401, 429]).toContain(s);
}

describe.each(TEST_DIALECTS)('second-factor replay at sign-in on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind);
    t.clock.set(FIXED_START);
  });
  afterAll(() => t.close());

  it('refuses the code (time step) that was used to enable 2FA, then accepts the next step with a NEW session token', async () => {
    const user = await enrolUser(t.app, t.clock, 'replay');
    const c = await startSignIn(t.app, user.username);
    const pendingToken = c.cookies.get('crew_session')!;

    const replay = await postCode(c, totpAt(user, t.clock));
    expect(replay.statusCode).toBe(401);
    expect(replay.json().error).toEqual({ code: 'invalid_code', message: new AppError('invalid_code').message }); // reads as a wrong code
    expect(await eventTypes(t.deps.db, user.userId)).toContain('two_factor_replay_refused');
    expect((await c.json('GET', '/api/me')).statusCode).toBe(401); // still only pending

    t.clock.advanceSeconds(30);
    const ok = await postCode(c, totpAt(user, t.clock));
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toEqual({ status: 'authenticated', user: { id: user.userId, username: user.username }, backupCodesRemaining: 10 });
    expect(ok.headers['cache-control']).toBe('no-store');
    const fullToken = c.cookies.get('crew_session')!;
    expect(fullToken).not.toBe(pendingToken);
    const session = await t.deps.db.selectFrom('sessions').selectAll().where('id', '=', hashSessionToken(fullToken)).executeTakeFirstOrThrow();
    expect(session.state).toBe('authenticated');
    expect((await c.json('GET', '/api/me')).statusCode).toBe(200);
    // The pending token died with the upgrade (no fixation, OWASP ASVS 3.2.1).
    const old = await t.app.inject({ method: 'POST', url: '/api/auth/login/two-factor', payload: { code: '000000' }, headers: { cookie: `crew_session=${pendingToken}` } });
    expect(old.statusCode).toBe(401);
    expect(old.json().error.code).toBe('two_factor_pending_expired');
    expect(await eventTypes(t.deps.db, user.userId)).toContain('sign_in_with_code');
  });

  // Bug: when several requests submit codes on one pending sign-in at once (a double-click, a retrying client), the
  // losers found the pending session upgraded and answered with a Set-Cookie that CLEARED crew_session — signing the
  // browser out of the session the winner had just issued. Losers must answer 401 and leave the cookie alone.
  it('3 parallel right codes on ONE pending sign-in: one 200 with a new cookie, the others 401 without clearing the cookie', async () => {
    const user = await enrolUser(t.app, t.clock, 'race');
    t.clock.advanceSeconds(60); // steps -1, 0 and +1 are all fresh
    const c = await startSignIn(t.app, user.username);
    const pendingToken = c.cookies.get('crew_session')!;
    const send = (code: string) =>
      t.app.inject({ method: 'POST', url: '/api/auth/login/two-factor', payload: { code }, headers: { 'content-type': 'application/json', cookie: `crew_session=${pendingToken}` } });
    const answers = await Promise.all([-1, 0, 1].map((k) => send(totpAt(user, t.clock, k))));

    const sessionCookies = (res: LightMyRequestResponse) => (res.cookies as Array<{ name: string; value: string }>).filter((x) => x.name === 'crew_session');
    const winners = answers.filter((r) => r.statusCode === 200);
    expect(winners, answers.map((r) => `${r.statusCode} ${r.body}`).join('\n')).toHaveLength(1);
    const issued = sessionCookies(winners[0]!);
    expect(issued).toHaveLength(1);
    expect(issued[0]!.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const loser of answers.filter((r) => r !== winners[0])) {
      expect(loser.statusCode, loser.body).toBe(401);
      expect(sessionCookies(loser), 'a loser must not touch the session cookie').toEqual([]);
    }
    // A straggler arriving after the upgrade is refused the same way, cookie untouched.
    const late = await send(totpAt(user, t.clock));
    expect(late.statusCode).toBe(401);
    expect(late.json().error.code).toBe('two_factor_pending_expired');
    expect(sessionCookies(late)).toEqual([]);
    // The winner's cookie is a working full session.
    const me = await t.app.inject({ method: 'GET', url: '/api/me', headers: { cookie: `crew_session=${issued[0]!.value}` } });
    expect(me.statusCode).toBe(200);
    expect(me.json().user.id).toBe(user.userId);
  });

  it('refuses a code already accepted at sign-in, and an older step inside the drift window, on a new pending sign-in', async () => {
    const user = await enrolUser(t.app, t.clock, 'replay');
    t.clock.advanceSeconds(30);
    const used = totpAt(user, t.clock);
    expect((await postCode(await startSignIn(t.app, user.username), used)).statusCode).toBe(200);
    const again = await postCode(await startSignIn(t.app, user.username), used);
    expect(again.statusCode).toBe(401);
    expect(again.json().error.code).toBe('invalid_code');
    const older = await postCode(await startSignIn(t.app, user.username), totpAt(user, t.clock, -1));
    expect(older.statusCode).toBe(401);
    const row = await readTwoFactorRow(t.deps.db, user.userId);
    expect(Number(row!.last_used_totp_step)).toBe(Math.floor(t.clock.now().getTime() / 30_000));
  });

  it('a backup code signs in once: 20 separate pending sign-ins posting it concurrently → exactly one 200', async () => {
    const user = await enrolUser(t.app, t.clock, 'backup');
    const clients = await startSignIns([t.app], user.username, 20);
    const code = user.backupCodes[0]!;
    const answers = await Promise.all(clients.map((c) => postCode(c, code)));
    expectExactlyOneSuccess(answers);
    const winner = answers.findIndex((r) => r.statusCode === 200);
    expect(answers[winner]!.json().backupCodesRemaining).toBe(9);
    expect((await clients[winner]!.json('GET', '/api/me')).statusCode).toBe(200);
    const row = await readTwoFactorRow(t.deps.db, user.userId);
    expect(JSON.parse(row!.backup_codes as string)).toHaveLength(9);
    expect((await eventTypes(t.deps.db, user.userId)).filter((e) => e === 'sign_in_with_backup_code')).toHaveLength(1);
  });

  it('a used backup code is refused afterwards, in any spelling (dashes, spaces, case)', async () => {
    const user = await enrolUser(t.app, t.clock, 'backup');
    const code = user.backupCodes[1]!;
    const first = await postCode(await startSignIn(t.app, user.username), code.toUpperCase().replace('-', ' '));
    expect(first.statusCode).toBe(200);
    for (const spelling of [code, code.replace('-', ''), code.toUpperCase()]) {
      const again = await postCode(await startSignIn(t.app, user.username), spelling);
      expect(again.statusCode).toBe(401);
      expect(again.json().error.code).toBe('invalid_code');
    }
  });

  it('20 concurrent sign-ins with one TOTP code → exactly one 200', async () => {
    const user = await enrolUser(t.app, t.clock, 'race');
    t.clock.advanceSeconds(30);
    const clients = await startSignIns([t.app], user.username, 20);
    const code = totpAt(user, t.clock);
    expectExactlyOneSuccess(await Promise.all(clients.map((c) => postCode(c, code))));
  });

  describe('two app instances over one database', () => {
    let second: Awaited<ReturnType<typeof openSecondInstance>>;
    beforeAll(async () => {
      second = await openSecondInstance(t);
    });
    afterAll(() => second.close());

    it('a TOTP code accepted by one instance is refused by the other', async () => {
      const user = await enrolUser(t.app, t.clock, 'twoapps');
      t.clock.advanceSeconds(30);
      const code = totpAt(user, t.clock);
      expect((await postCode(await startSignIn(t.app, user.username), code)).statusCode).toBe(200);
      const replay = await postCode(await startSignIn(second.app, user.username), code);
      expect(replay.statusCode).toBe(401);
      expect(replay.json().error.code).toBe('invalid_code');
    });

    it('a backup code used on one instance is refused by the other', async () => {
      const user = await enrolUser(second.app, t.clock, 'twoapps');
      const code = user.backupCodes[2]!;
      expect((await postCode(await startSignIn(second.app, user.username), code)).statusCode).toBe(200);
      const reuse = await postCode(await startSignIn(t.app, user.username), code);
      expect(reuse.statusCode).toBe(401);
    });

    it('racing across both instances: 10 + 10 sign-ins with one backup code, then with one TOTP code → one 200 each', async () => {
      const user = await enrolUser(t.app, t.clock, 'twoapps');
      const spread = () => startSignIns([t.app, second.app], user.username, 20);
      const backup = user.backupCodes[3]!;
      expectExactlyOneSuccess(await Promise.all((await spread()).map((c) => postCode(c, backup))));
      // The backup-code race above may have locked the account (19 failures); a new lockout cycle needs time.
      t.clock.advanceSeconds(16 * 60);
      const clients = await spread();
      const code = totpAt(user, t.clock);
      expectExactlyOneSuccess(await Promise.all(clients.map((c) => postCode(c, code))));
    });

    it('both instances are the same app: a session issued by one works on the other', async () => {
      const user = await enrolUser(t.app, t.clock, 'twoapps');
      t.clock.advanceSeconds(30);
      const c = await startSignIn(t.app, user.username);
      const onSecond = new TestClient(second.app);
      for (const [k, v] of c.cookies) onSecond.cookies.set(k, v);
      expect((await postCode(onSecond, totpAt(user, t.clock))).statusCode).toBe(200);
      expect((await onSecond.json('GET', '/api/me')).statusCode).toBe(200);
    });
  });
});
