import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.ts';
import { systemRandom } from '../../lib/random.ts';
import { createMigratedDatabase } from '../../../test/helpers/test-database.ts';
import { TEST_DIALECTS } from '../../../test/helpers/test-database.ts';
import {
  PENDING_TWO_FACTOR_TIMEOUT_MS,
  SESSION_ABSOLUTE_TIMEOUT_MS,
  SESSION_IDLE_TIMEOUT_MS,
  SessionService,
} from './session.service.ts';
import { hashSessionToken } from './session-token.ts';

describe.each(TEST_DIALECTS)('SessionService on %s', (kind) => {
  let database: Awaited<ReturnType<typeof createMigratedDatabase>>;
  let userId: number;
  const clock = new ManualClock(new Date('2026-03-01T08:00:00Z'));
  let sessions: SessionService;

  beforeAll(async () => {
    database = await createMigratedDatabase(kind);
    const row = await database.open.db
      .insertInto('users')
      .values({ username: 'sam', email: null, password_hash: 'x' })
      .returning('id')
      .executeTakeFirstOrThrow();
    userId = row.id;
    sessions = new SessionService({ db: database.open.db, clock, random: systemRandom });
  });
  afterAll(() => database.cleanup());

  it('stores only the SHA-256 of a 256-bit token and finds the session by the token', async () => {
    const { token, session } = await sessions.createSession(userId, 'authenticated', { ip: '10.0.0.1', userAgent: 'test' });
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = await database.open.db.selectFrom('sessions').selectAll().where('user_id', '=', userId).execute();
    expect(stored.map((r) => r.id)).toContain(hashSessionToken(token));
    expect(JSON.stringify(stored)).not.toContain(token);
    const found = await sessions.getSessionByToken(token);
    expect(found).toMatchObject({ id: session.id, userId, state: 'authenticated', csrfToken: session.csrfToken });
    expect(session.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('ignores malformed and unknown tokens', async () => {
    expect(await sessions.getSessionByToken(undefined)).toBeNull();
    expect(await sessions.getSessionByToken('short')).toBeNull();
    expect(await sessions.getSessionByToken('A'.repeat(43))).toBeNull();
  });

  it('expires after the idle timeout, and slides it while in use', async () => {
    const { token } = await sessions.createSession(userId, 'authenticated');
    clock.advanceSeconds(SESSION_IDLE_TIMEOUT_MS / 1000 - 60);
    expect(await sessions.getSessionByToken(token)).not.toBeNull(); // slides
    clock.advanceSeconds(SESSION_IDLE_TIMEOUT_MS / 1000 - 60);
    expect(await sessions.getSessionByToken(token)).not.toBeNull();
    clock.advanceSeconds(SESSION_IDLE_TIMEOUT_MS / 1000 + 1);
    expect(await sessions.getSessionByToken(token)).toBeNull();
  });

  it('expires at the absolute lifetime however active', async () => {
    const { token } = await sessions.createSession(userId, 'authenticated');
    const steps = Math.ceil(SESSION_ABSOLUTE_TIMEOUT_MS / (SESSION_IDLE_TIMEOUT_MS / 2));
    let last: unknown = null;
    for (let i = 0; i < steps; i++) {
      clock.advanceSeconds(SESSION_IDLE_TIMEOUT_MS / 2000);
      last = await sessions.getSessionByToken(token);
    }
    expect(last).toBeNull();
  });

  it('gives a pending two-factor session five minutes, and does not slide it', async () => {
    const { token, session } = await sessions.createSession(userId, 'pending_two_factor');
    expect(session.expiresAt.getTime() - session.createdAt.getTime()).toBe(PENDING_TWO_FACTOR_TIMEOUT_MS);
    clock.advanceSeconds(240);
    expect((await sessions.getSessionByToken(token))?.state).toBe('pending_two_factor');
    clock.advanceSeconds(61);
    expect(await sessions.getSessionByToken(token)).toBeNull();
  });

  it('upgrades a pending session with a new token; the old token stops working', async () => {
    const pending = await sessions.createSession(userId, 'pending_two_factor');
    const upgraded = await sessions.upgradeSession(pending.session);
    expect(upgraded.token).not.toBe(pending.token);
    expect(upgraded.session.csrfToken).not.toBe(pending.session.csrfToken);
    expect(upgraded.session.state).toBe('authenticated');
    expect(await sessions.getSessionByToken(pending.token)).toBeNull();
    expect((await sessions.getSessionByToken(upgraded.token))?.state).toBe('authenticated');
    await expect(sessions.upgradeSession(pending.session)).rejects.toMatchObject({ code: 'two_factor_pending_expired' });
    await expect(sessions.upgradeSession(upgraded.session)).rejects.toBeInstanceOf(TypeError);
  });

  it('reserves second-factor attempts of a pending sign-in only, destroys one or all sessions, and sweeps expired ones', async () => {
    const a = await sessions.createSession(userId, 'pending_two_factor');
    expect(await sessions.reservePendingSignInAttempt(a.session.id)).toBe(1);
    expect(await sessions.reservePendingSignInAttempt(a.session.id)).toBe(2);
    const full = await sessions.createSession(userId, 'authenticated');
    expect(await sessions.reservePendingSignInAttempt(full.session.id)).toBeNull(); // a full session has no second step
    await sessions.destroySession(a.session.id);
    expect(await sessions.getSessionByToken(a.token)).toBeNull();
    expect(await sessions.reservePendingSignInAttempt(a.session.id)).toBeNull(); // gone
    const b = await sessions.createSession(userId, 'authenticated');
    await sessions.createSession(userId, 'authenticated');
    expect(await sessions.destroyUserSessions(userId, b.session.id)).toBeGreaterThanOrEqual(1);
    expect(await sessions.getSessionByToken(b.token)).not.toBeNull();
    clock.advanceSeconds(SESSION_ABSOLUTE_TIMEOUT_MS / 1000 + 1);
    expect(await sessions.deleteExpiredSessions()).toBeGreaterThanOrEqual(1);
  });
});
