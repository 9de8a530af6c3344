import type { AppDb } from '../../db/database.ts';
import type { Clock } from '../../lib/clock.ts';
import type { RequestMeta } from '../audit/security-events.ts';
import { revokeRememberedDevices } from '../remembered-devices/remembered-devices.ts';
import { destroyUserSessions } from '../sessions/session.service.ts';

/** What was revoked because the password changed. */
export interface RevokedAfterPasswordChange {
  otherSessionsEnded: number;
  rememberedDevicesRevoked: number;
}

/**
 * Everything a password change must revoke besides the password itself: the other sessions (OWASP ASVS 3.3.3, NIST SP
 * 800-63B §7.1) and every remembered device (NIST SP 800-63B §5.1.9 / ASVS 2.8: a stolen "remember this device" cookie
 * must stop skipping the second factor once the owner changes the password). The one call site for more of the same.
 * @example await revokeAfterPasswordChange(deps, user.id, currentSessionId, request.meta);
 */
export async function revokeAfterPasswordChange(
  deps: { db: AppDb; clock: Clock },
  userId: number,
  keepSessionId: string,
  meta?: RequestMeta,
): Promise<RevokedAfterPasswordChange> {
  const otherSessionsEnded = await destroyUserSessions(deps.db, userId, keepSessionId);
  const rememberedDevicesRevoked = await revokeRememberedDevices(deps, userId, 'password_changed', meta);
  return { otherSessionsEnded, rememberedDevicesRevoked };
}
