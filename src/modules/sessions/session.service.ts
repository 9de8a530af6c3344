/**
 * Server-side sessions (OWASP ASVS V3, NIST SP 800-63B §7).
 *
 * The cookie carries a 256-bit random token; the `sessions` row is keyed by its SHA-256, so the database never
 * holds a usable token. Every sign-in step issues a NEW token (no session fixation, ASVS 3.2.1).
 *
 * API (all methods are async; `meta` is `{ ip, userAgent }`):
 *   const sessions = new SessionService({ db, clock, random });
 *   createSession(userId, state, meta?)      → { token, session }   state: 'authenticated' | 'pending_two_factor'
 *   getSessionByToken(token)                 → Session | null        null when unknown/expired (expired rows are deleted);
 *                                                                    slides the idle expiry of authenticated sessions
 *   rotateSession(session, state?, meta?)    → { token, session }   deletes the old row, inserts a new one (same user)
 *   upgradeSession(pendingSession, meta?)    → { token, session }   pending_two_factor → authenticated (new token,
 *                                                                    new CSRF token, fresh absolute lifetime); throws
 *                                                                    AppError two_factor_pending_expired if the
 *                                                                    pending row is already gone
 *   recordTwoFactorFailure(sessionId)        → number               increments two_factor_failures, returns this
 *                                                                    attempt's number (atomic, usable as a reservation)
 *   destroySession(sessionId)                → boolean              logout; false if the row was already gone
 *   destroyUserSessions(userId, exceptId?)   → number               e.g. after disabling 2FA or a password change
 *   deleteExpiredSessions()                  → number               housekeeping
 *
 * Lifetimes: authenticated sessions expire after SESSION_IDLE_TIMEOUT_MS (12 h) without a request and at most
 * SESSION_ABSOLUTE_TIMEOUT_MS (7 days) after sign-in; a pending_two_factor session lives PENDING_TWO_FACTOR_TIMEOUT_MS
 * (5 min) and grants nothing but the second sign-in step (the HTTP gate enforces that).
 */
import { sql, type Selectable } from 'kysely';
import type { AppDb, SessionsTable } from '../../db/database.ts';
import { AppError } from '../../lib/app-error.ts';
import type { Clock } from '../../lib/clock.ts';
import type { RandomSource } from '../../lib/random.ts';
import type { RequestMeta } from '../audit/security-events.ts';
import { generateToken, hashSessionToken, isTokenShaped } from './session-token.ts';

/** What a session allows: a full sign-in, or only the second factor step. */
export type SessionState = 'authenticated' | 'pending_two_factor';

/** Idle timeout of a signed-in session: 12 hours without a request (documented in docs/SECURITY.md). */
export const SESSION_IDLE_TIMEOUT_MS = 12 * 60 * 60 * 1000;
/** Absolute lifetime of a signed-in session: 7 days after sign-in, however active (OWASP ASVS 3.3.2). */
export const SESSION_ABSOLUTE_TIMEOUT_MS = 7 * 24 * 60 * 60 * 1000;
/** Lifetime of a pending two-factor sign-in: 5 minutes. */
export const PENDING_TWO_FACTOR_TIMEOUT_MS = 5 * 60 * 1000;
/** A request refreshes last_seen_at_ms at most this often, to spare the database a write per request. */
const TOUCH_INTERVAL_MS = 60 * 1000;

/** A live session as the app sees it (never the token). */
export interface Session {
  /** SHA-256 (hex) of the token. */
  id: string;
  userId: number;
  state: SessionState;
  /** Synchronizer CSRF token for the HTML forms of this session (OWASP CSRF Cheat Sheet). */
  csrfToken: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  twoFactorFailures: number;
}

/** A newly issued session: the token goes into the cookie and nowhere else. */
export interface IssuedSession {
  token: string;
  session: Session;
}

/** Dependencies of {@link SessionService}. */
export interface SessionServiceDeps {
  db: AppDb;
  clock: Clock;
  random: RandomSource;
}

/** The columns the service reads (every column of the table but where the session came from). */
type Row = Omit<Selectable<SessionsTable>, 'ip' | 'user_agent'>;

function toSession(row: Row): Session {
  return {
    id: row.id,
    userId: Number(row.user_id),
    state: row.state === 'authenticated' ? 'authenticated' : 'pending_two_factor',
    csrfToken: row.csrf_token,
    createdAt: new Date(Number(row.created_at_ms)),
    lastSeenAt: new Date(Number(row.last_seen_at_ms)),
    expiresAt: new Date(Number(row.expires_at_ms)),
    twoFactorFailures: Number(row.two_factor_failures),
  };
}

function expiryFor(state: SessionState, createdAtMs: number, lastSeenAtMs: number): number {
  if (state === 'pending_two_factor') return createdAtMs + PENDING_TWO_FACTOR_TIMEOUT_MS;
  return Math.min(lastSeenAtMs + SESSION_IDLE_TIMEOUT_MS, createdAtMs + SESSION_ABSOLUTE_TIMEOUT_MS);
}

/**
 * Creates, reads, rotates and destroys server-side sessions; see the module comment for the full API.
 * @example const { token } = await new SessionService(deps).createSession(user.id, 'authenticated', meta);
 */
export class SessionService {
  readonly #deps: SessionServiceDeps;

  constructor(deps: SessionServiceDeps) {
    this.#deps = deps;
  }

  /** Issues a new session for a user; the returned token is shown to the client only. */
  async createSession(userId: number, state: SessionState, meta?: RequestMeta, db: AppDb = this.#deps.db): Promise<IssuedSession> {
    const token = generateToken(this.#deps.random);
    const now = this.#deps.clock.now().getTime();
    const row: Row = {
      id: hashSessionToken(token),
      user_id: userId,
      state,
      csrf_token: generateToken(this.#deps.random),
      created_at_ms: now,
      last_seen_at_ms: now,
      expires_at_ms: expiryFor(state, now, now),
      two_factor_failures: 0,
    };
    await db
      .insertInto('sessions')
      .values({ ...row, ip: meta?.ip ?? null, user_agent: meta?.userAgent?.slice(0, 300) ?? null })
      .execute();
    return { token, session: toSession(row) };
  }

  /** Finds the live session for a cookie token, deleting it if expired and sliding the idle expiry otherwise. */
  async getSessionByToken(token: unknown): Promise<Session | null> {
    if (!isTokenShaped(token)) return null;
    const id = hashSessionToken(token);
    const row = await this.#deps.db
      .selectFrom('sessions')
      .select(['id', 'user_id', 'state', 'csrf_token', 'created_at_ms', 'last_seen_at_ms', 'expires_at_ms', 'two_factor_failures'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) return null;
    const now = this.#deps.clock.now().getTime();
    const session = toSession(row);
    if (session.expiresAt.getTime() <= now) {
      await this.destroySession(id);
      return null;
    }
    if (session.state === 'authenticated' && now - session.lastSeenAt.getTime() >= TOUCH_INTERVAL_MS) {
      const expiresAtMs = expiryFor(session.state, session.createdAt.getTime(), now);
      await this.#deps.db.updateTable('sessions').set({ last_seen_at_ms: now, expires_at_ms: expiresAtMs }).where('id', '=', id).execute();
      session.lastSeenAt = new Date(now);
      session.expiresAt = new Date(expiresAtMs);
    }
    return session;
  }

  /** Replaces a session by a new one with a new token and CSRF token (ASVS 3.2.1); the old token stops working at once. */
  async rotateSession(session: Session, state: SessionState = session.state, meta?: RequestMeta): Promise<IssuedSession> {
    return this.#deps.db.transaction().execute(async (trx) => {
      const deleted = await trx.deleteFrom('sessions').where('id', '=', session.id).executeTakeFirst();
      if (Number(deleted.numDeletedRows) !== 1) throw new AppError('not_authenticated');
      return this.createSession(session.userId, state, meta, trx);
    });
  }

  /** Turns a pending two-factor session into a full one, with a new token; throws if the pending row is gone. */
  async upgradeSession(pending: Session, meta?: RequestMeta): Promise<IssuedSession> {
    if (pending.state !== 'pending_two_factor') throw new TypeError('upgradeSession needs a pending_two_factor session');
    try {
      return await this.rotateSession(pending, 'authenticated', meta);
    } catch (error) {
      if (error instanceof AppError) throw new AppError('two_factor_pending_expired', undefined, {}, { cause: error });
      throw error;
    }
  }

  /**
   * Counts a second-factor attempt against a pending session and returns this attempt's number (Infinity when the
   * session is gone). One `UPDATE … RETURNING`, so parallel callers each get a distinct number and can use it as a
   * reservation taken before the code is verified.
   */
  async recordTwoFactorFailure(sessionId: string): Promise<number> {
    const row = await this.#deps.db
      .updateTable('sessions')
      .set({ two_factor_failures: sql<number>`two_factor_failures + 1` })
      .where('id', '=', sessionId)
      .returning('two_factor_failures')
      .executeTakeFirst();
    return row ? Number(row.two_factor_failures) : Number.POSITIVE_INFINITY;
  }

  /** Deletes one session (logout); returns whether this call deleted it (false if it was already gone). */
  async destroySession(sessionId: string): Promise<boolean> {
    const result = await this.#deps.db.deleteFrom('sessions').where('id', '=', sessionId).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  /** Deletes every session of a user except, optionally, one; returns how many were deleted. */
  destroyUserSessions(userId: number, exceptSessionId?: string): Promise<number> {
    return destroyUserSessions(this.#deps.db, userId, exceptSessionId);
  }

  /** Deletes every expired session; returns how many. */
  async deleteExpiredSessions(): Promise<number> {
    const now = this.#deps.clock.now().getTime();
    const result = await this.#deps.db.deleteFrom('sessions').where('expires_at_ms', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

/** Deletes every session of a user except, optionally, one; returns how many (also for modules that hold only a db). */
export async function destroyUserSessions(db: AppDb, userId: number, exceptSessionId?: string): Promise<number> {
  let query = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (exceptSessionId) query = query.where('id', '!=', exceptSessionId);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}
