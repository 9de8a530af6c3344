// Server-side sessions (OWASP ASVS V3, NIST SP 800-63B §7). The cookie carries a 256-bit random token; the `sessions`
// row is keyed by its SHA-256, so the database never holds a usable token. Every sign-in step issues a NEW token (no
// session fixation, ASVS 3.2.1). Lifetimes: authenticated sessions expire after SESSION_IDLE_TIMEOUT_MS without a
// request and at most SESSION_ABSOLUTE_TIMEOUT_MS after sign-in; a pending_two_factor session lives
// PENDING_TWO_FACTOR_TIMEOUT_MS and grants nothing but the second sign-in step (the HTTP gate enforces that).
import { sql, type CompiledQuery, type InferResult, type Selectable } from 'kysely';
import type { AppDb, SessionsTable } from '../../db/database.ts';
import { AppError } from '../../lib/app-error.ts';
import type { Clock } from '../../lib/clock.ts';
import type { RandomSource } from '../../lib/random.ts';
import type { RequestMeta } from '../audit/security-events.ts';
import type { TwoFactorRecord } from '../two-factor/two-factor-record.ts';
import { joinTwoFactorRow, twoFactorFromJoin } from '../two-factor/two-factor.repository.ts';
import { toUser, type User } from '../users/users.repository.ts';
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
  /** Second-factor attempts reserved by this pending sign-in (the two_factor_failures column). */
  twoFactorAttempts: number;
}

/** A live session with its user and the user's two_factor_auth row (null when never set up): one query's worth. */
export interface SessionContext {
  session: Session;
  user: User;
  twoFactor: TwoFactorRecord | null;
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
    twoFactorAttempts: Number(row.two_factor_failures),
  };
}

/** The one read of a signed-in request: a session by id, joined with its user and the user's two_factor_auth row. */
function contextQuery(db: AppDb, sessionId: string) {
  return db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['sessions.id', 'sessions.user_id', 'sessions.state', 'sessions.csrf_token', 'sessions.created_at_ms', 'sessions.last_seen_at_ms'])
    .select(['sessions.expires_at_ms', 'sessions.two_factor_failures', 'users.username', 'users.email', 'users.role', 'users.created_at'])
    .$call(joinTwoFactorRow)
    .where('sessions.id', '=', sessionId);
}
type ContextRow = InferResult<ReturnType<typeof contextQuery>>[number];

function expiryFor(state: SessionState, createdAtMs: number, lastSeenAtMs: number): number {
  if (state === 'pending_two_factor') return createdAtMs + PENDING_TWO_FACTOR_TIMEOUT_MS;
  return Math.min(lastSeenAtMs + SESSION_IDLE_TIMEOUT_MS, createdAtMs + SESSION_ABSOLUTE_TIMEOUT_MS);
}

/**
 * Creates, reads, rotates and destroys server-side sessions.
 * @example const { token } = await new SessionService(deps).createSession(user.id, 'authenticated', meta);
 */
export class SessionService {
  readonly #deps: SessionServiceDeps;
  /**
   * {@link contextQuery} compiled once: building and compiling the join was the largest share of a signed-in request's
   * CPU in our profile (docs/PERFORMANCE.md), and its only parameter is the session id, so each request just binds it.
   */
  readonly #contextQuery: CompiledQuery<ContextRow>;

  constructor(deps: SessionServiceDeps) {
    this.#deps = deps;
    this.#contextQuery = contextQuery(deps.db, '').compile();
    if (this.#contextQuery.parameters.length !== 1) throw new TypeError('the session read must have exactly one parameter');
  }

  /** A new session row for a user (token, CSRF token, lifetimes from now); stored by the caller. */
  #newRow(userId: number, state: SessionState): { token: string; row: Row } {
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
    return { token, row };
  }

  /** Issues a new session for a user; the returned token is shown to the client only. */
  async createSession(userId: number, state: SessionState, meta?: RequestMeta): Promise<IssuedSession> {
    const { token, row } = this.#newRow(userId, state);
    await this.#deps.db.insertInto('sessions').values({ ...row, ...where(meta) }).execute();
    return { token, session: toSession(row) };
  }

  /**
   * Finds the live session for a cookie token with its user and 2FA row in ONE query (a join; the signed-in request's
   * only read), deleting an expired session and sliding the idle expiry of an authenticated one (at most once a minute).
   */
  async findContextByToken(token: unknown): Promise<SessionContext | null> {
    if (!isTokenShaped(token)) return null;
    const { db, clock } = this.#deps;
    const [row] = (await db.executeQuery<ContextRow>({ ...this.#contextQuery, parameters: [hashSessionToken(token)] })).rows;
    if (!row) return null;
    const now = clock.now().getTime();
    const session = toSession(row);
    if (session.expiresAt.getTime() <= now) {
      await this.destroySession(session.id);
      return null;
    }
    if (session.state === 'authenticated' && now - session.lastSeenAt.getTime() >= TOUCH_INTERVAL_MS) {
      const expiresAtMs = expiryFor(session.state, session.createdAt.getTime(), now);
      await db.updateTable('sessions').set({ last_seen_at_ms: now, expires_at_ms: expiresAtMs }).where('id', '=', session.id).execute();
      session.lastSeenAt = new Date(now);
      session.expiresAt = new Date(expiresAtMs);
    }
    const user = toUser({ id: row.user_id, username: row.username, email: row.email, role: row.role, created_at: row.created_at });
    return { session, user, twoFactor: twoFactorFromJoin(row) };
  }

  /** {@link findContextByToken}'s session alone. */
  async getSessionByToken(token: unknown): Promise<Session | null> {
    return (await this.findContextByToken(token))?.session ?? null;
  }

  /**
   * Moves a session to a new token and CSRF token (ASVS 3.2.1) in ONE statement that rewrites the row's key, so the old
   * token stops working at once; throws AppError not_authenticated when the row is gone (e.g. a concurrent request
   * rotated it first).
   */
  async rotateSession(session: Session, state: SessionState = session.state, meta?: RequestMeta): Promise<IssuedSession> {
    const { token, row } = this.#newRow(session.userId, state);
    const result = await this.#deps.db
      .updateTable('sessions')
      .set({ ...row, ...where(meta) })
      .where('id', '=', session.id)
      .where('user_id', '=', session.userId)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) throw new AppError('not_authenticated');
    return { token, session: toSession(row) };
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
   * Reserves one second-factor attempt of a live pending sign-in BEFORE its code is verified and returns the attempt's
   * number, or null when the pending sign-in is gone (upgraded or ended by a concurrent request, or expired). One
   * `UPDATE … RETURNING`, so parallel callers each get a distinct number.
   */
  async reservePendingSignInAttempt(sessionId: string): Promise<number | null> {
    const row = await this.#deps.db
      .updateTable('sessions')
      .set({ two_factor_failures: sql<number>`two_factor_failures + 1` })
      .where('id', '=', sessionId)
      .where('state', '=', 'pending_two_factor')
      .where('expires_at_ms', '>', this.#deps.clock.now().getTime())
      .returning('two_factor_failures')
      .executeTakeFirst();
    return row ? Number(row.two_factor_failures) : null;
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

/** The request's address and browser for the sessions row (bounded). */
function where(meta: RequestMeta | undefined): { ip: string | null; user_agent: string | null } {
  return { ip: meta?.ip ?? null, user_agent: meta?.userAgent?.slice(0, 300) ?? null };
}

/** Deletes every session of a user except, optionally, one; returns how many (also for modules that hold only a db). */
export async function destroyUserSessions(db: AppDb, userId: number, exceptSessionId?: string): Promise<number> {
  let query = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (exceptSessionId) query = query.where('id', '!=', exceptSessionId);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}
