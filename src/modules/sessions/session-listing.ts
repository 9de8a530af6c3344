import { createHmac, hkdfSync } from 'node:crypto';
import type { AppDb } from '../../db/database.ts';

// "Where am I signed in?" (OWASP ASVS 3.3.4: users can view and end their other sessions). A session's row key is the
// SHA-256 of its cookie token, which must never leave the server, so the list shows a PUBLIC id instead: an HMAC of the
// row key under a key derived from the app's shared key. It is stable for the session's life, agrees across instances,
// and reveals nothing about the token; a public id is only ever looked up among the caller's OWN sessions.

/** One signed-in session as listed to its user. */
export interface ListedSession {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

/** The HMAC key of public session ids (HKDF, RFC 5869, from the app's CSRF key: one key, one purpose). */
export function deriveSessionIdKey(csrfKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', csrfKey, Buffer.alloc(0), 'production-crew public session id v1', 32));
}

/** The public id of a session row: 128 bits of HMAC-SHA256 of its row key, hex. */
export function publicSessionId(key: Buffer, sessionRowId: string): string {
  return createHmac('sha256', key).update(sessionRowId, 'utf8').digest('hex').slice(0, 32);
}

/** The user's live signed-in sessions (pending sign-ins are not sessions yet), most recently seen first. */
export async function listUserSessions(db: AppDb, key: Buffer, userId: number, currentSessionId: string, nowMs: number): Promise<ListedSession[]> {
  const rows = await db
    .selectFrom('sessions')
    .select(['id', 'created_at_ms', 'last_seen_at_ms', 'ip', 'user_agent'])
    .where('user_id', '=', userId)
    .where('state', '=', 'authenticated')
    .where('expires_at_ms', '>', nowMs)
    .orderBy('last_seen_at_ms', 'desc')
    .orderBy('created_at_ms', 'desc')
    .execute();
  return rows.map((r) => ({
    id: publicSessionId(key, r.id),
    createdAt: new Date(Number(r.created_at_ms)),
    lastSeenAt: new Date(Number(r.last_seen_at_ms)),
    ip: r.ip,
    userAgent: r.user_agent,
    current: r.id === currentSessionId,
  }));
}

/**
 * Ends one of the user's OWN sessions by its public id; returns the row key it ended, or null when the user has no such
 * session (someone else's id, a made-up one, or already ended: all answer alike, 404).
 */
export async function revokeUserSession(db: AppDb, key: Buffer, userId: number, publicId: string): Promise<string | null> {
  if (!/^[0-9a-f]{32}$/.test(publicId)) return null;
  const own = await db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute();
  const match = own.find((r) => publicSessionId(key, r.id) === publicId);
  if (!match) return null;
  const result = await db.deleteFrom('sessions').where('id', '=', match.id).where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows) === 1 ? match.id : null;
}
