// Server-side sessions (OWASP ASVS V3, NIST SP 800-63B §7). The cookie carries a 256-bit random token; the `sessions`
// row is keyed by its SHA-256, so the database never holds a usable token. Every sign-in step issues a NEW token (no
// session fixation, ASVS 3.2.1). Lifetimes: authenticated sessions expire after SESSION_IDLE_TIMEOUT_MS without a
// request and at most SESSION_ABSOLUTE_TIMEOUT_MS after sign-in; a pending_two_factor session lives
// PENDING_TWO_FACTOR_TIMEOUT_MS and grants nothing but the second sign-in step (the HTTP gate enforces that).
import type { Selectable } from 'kysely';
import type { SessionsTable } from '../../db/database.ts';

/** What a session allows: a full sign-in, or only the second factor step. */
export type SessionState = 'authenticated' | 'pending_two_factor';

/** Idle timeout of a signed-in session: 12 hours without a request (documented in docs/SECURITY.md). */
export const SESSION_IDLE_TIMEOUT_MS = 12 * 60 * 60 * 1000;
/** Absolute lifetime of a signed-in session: 7 days after sign-in, however active (OWASP ASVS 3.3.2). */
export const SESSION_ABSOLUTE_TIMEOUT_MS = 7 * 24 * 60 * 60 * 1000;
/** Lifetime of a pending two-factor sign-in: 5 minutes. */
export const PENDING_TWO_FACTOR_TIMEOUT_MS = 5 * 60 * 1000;
/** A request refreshes last_seen_at_ms at most this often, to spare the database a write per request. */
export const TOUCH_INTERVAL_MS = 60 * 1000;

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

/** A newly issued session: the token goes into the cookie and nowhere else. */
export interface IssuedSession {
  token: string;
  session: Session;
}

/** The columns the service reads (every column of the table but where the session came from). */
export type Row = Omit<Selectable<SessionsTable>, 'ip' | 'user_agent'>;

/** Decodes a sessions row. */
export function toSession(row: Row): Session {
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

/** When a session of `state` created and last seen at these instants expires. */
export function expiryFor(state: SessionState, createdAtMs: number, lastSeenAtMs: number): number {
  if (state === 'pending_two_factor') return createdAtMs + PENDING_TWO_FACTOR_TIMEOUT_MS;
  return Math.min(lastSeenAtMs + SESSION_IDLE_TIMEOUT_MS, createdAtMs + SESSION_ABSOLUTE_TIMEOUT_MS);
}
