/** Creates, reads, rotates and destroys the `sessions` rows (the rules are in session.ts). */
import { sql, type CompiledQuery, type InferResult } from 'kysely';
import type { AppDb } from '../../db/database.ts';
import { prepareQuery } from '../../db/prepared-query.ts';
import { AppError } from '../../lib/app-error.ts';
import type { Clock } from '../../lib/clock.ts';
import type { RandomSource } from '../../lib/random.ts';
import type { RequestMeta } from '../audit/security-events.ts';
import { twoFactorFromJoin, type TwoFactorRecord } from '../two-factor/two-factor-record.ts';
import { joinTwoFactorRow } from '../two-factor/two-factor.repository.ts';
import { toUser, type User } from '../users/users.repository.ts';
import { expiryFor, toSession, TOUCH_INTERVAL_MS, type IssuedSession, type Row, type Session, type SessionState } from './session.ts';
import { generateTokens, hashSessionToken, isTokenShaped } from './session-token.ts';

export {
  PENDING_TWO_FACTOR_TIMEOUT_MS,
  SESSION_ABSOLUTE_TIMEOUT_MS,
  SESSION_IDLE_TIMEOUT_MS,
  type IssuedSession,
  type Session,
  type SessionState,
} from './session.ts';

/** A live session with its user and the user's two_factor_auth row (null when never set up): one query's worth. */
export interface SessionContext {
  session: Session;
  user: User;
  twoFactor: TwoFactorRecord | null;
}

/** Dependencies of {@link SessionService}. */
export interface SessionServiceDeps {
  db: AppDb;
  clock: Clock;
  random: RandomSource;
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

/** `{ column: param('column') }` for each column: a row of named parameters for prepareQuery. */
function placeholders<Name extends string>(param: (name: Name) => never, columns: readonly Name[]): Record<Name, never> {
  return Object.fromEntries(columns.map((column) => [column, param(column)])) as Record<Name, never>;
}

/**
 * The statements of the second sign-in step and of every sign-in, compiled once per app (see prepareQuery): building and
 * compiling them with Kysely on every call cost more CPU than SQLite spent running them (docs/PERFORMANCE.md).
 */
function sessionStatements(db: AppDb) {
  const SESSION_ROW = ['id', 'user_id', 'state', 'csrf_token', 'created_at_ms', 'last_seen_at_ms', 'expires_at_ms', 'two_factor_failures', 'ip', 'user_agent'] as const;
  return {
    insert: prepareQuery(SESSION_ROW, (p) => db.insertInto('sessions').values(placeholders(p, SESSION_ROW))),
    // user_id is the WHERE's, not the SET's: SQLite rewrites an index (and re-checks the foreign key) for every column a
    // SET names, even when its value is unchanged, and user_id never changes here.
    rotate: prepareQuery([...SESSION_ROW, 'old_id'], (p) =>
      db
        .updateTable('sessions')
        .set(placeholders(p, SESSION_ROW.filter((column) => column !== 'user_id')))
        .where('id', '=', p('old_id'))
        .where('user_id', '=', p('user_id')),
    ),
    reservePendingAttempt: prepareQuery(['id', 'now_ms'], (p) =>
      db
        .updateTable('sessions')
        .set({ two_factor_failures: sql<number>`two_factor_failures + 1` })
        .where('id', '=', p('id'))
        .where('state', '=', 'pending_two_factor')
        .where('expires_at_ms', '>', p('now_ms'))
        .returning('two_factor_failures'),
    ),
    destroy: prepareQuery(['id'], (p) => db.deleteFrom('sessions').where('id', '=', p('id'))),
  };
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
  readonly #statements: ReturnType<typeof sessionStatements>;

  constructor(deps: SessionServiceDeps) {
    this.#deps = deps;
    this.#statements = sessionStatements(deps.db);
    this.#contextQuery = contextQuery(deps.db, '').compile();
    if (this.#contextQuery.parameters.length !== 1) throw new TypeError('the session read must have exactly one parameter');
  }

  /** A new session row for a user (token, CSRF token, lifetimes from now); stored by the caller. */
  #newRow(userId: number, state: SessionState): { token: string; row: Row } {
    const [token, csrfToken] = generateTokens(this.#deps.random, 2) as [string, string];
    const now = this.#deps.clock.now().getTime();
    const row: Row = {
      id: hashSessionToken(token),
      user_id: userId,
      state,
      csrf_token: csrfToken,
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
    await this.#deps.db.executeQuery(this.#statements.insert.bind({ ...row, ...origin(meta) }));
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
    const result = await this.#deps.db.executeQuery(this.#statements.rotate.bind({ ...row, ...origin(meta), old_id: session.id }));
    if (Number(result.numAffectedRows) !== 1) throw new AppError('not_authenticated');
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
    const query = this.#statements.reservePendingAttempt.bind({ id: sessionId, now_ms: this.#deps.clock.now().getTime() });
    const [row] = (await this.#deps.db.executeQuery(query)).rows;
    return row ? Number(row.two_factor_failures) : null;
  }

  /** Deletes one session (logout); returns whether this call deleted it (false if it was already gone). */
  async destroySession(sessionId: string): Promise<boolean> {
    const result = await this.#deps.db.executeQuery(this.#statements.destroy.bind({ id: sessionId }));
    return Number(result.numAffectedRows) === 1;
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
function origin(meta: RequestMeta | undefined): { ip: string | null; user_agent: string | null } {
  return { ip: meta?.ip ?? null, user_agent: meta?.userAgent?.slice(0, 300) ?? null };
}

/** Deletes every session of a user except, optionally, one; returns how many (also for modules that hold only a db). */
export async function destroyUserSessions(db: AppDb, userId: number, exceptSessionId?: string): Promise<number> {
  let query = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (exceptSessionId) query = query.where('id', '!=', exceptSessionId);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}
