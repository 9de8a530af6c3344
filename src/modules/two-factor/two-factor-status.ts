import { isLocked } from './account-lockout.ts';
import type { TwoFactorRecord } from './two-factor-record.ts';

/**
 * A user's two-factor state as the pages, GET /api/2fa/status, /api/me and `crew 2fa status` show it (never the secret).
 * Until set-up is confirmed, 2FA counts as off: createdAt null and no backup codes.
 */
export interface TwoFactorStatus {
  enabled: boolean;
  createdAt: Date | null;
  backupCodesRemaining: number;
  /** When a lockout (NIST SP 800-63B §5.2.2) is in force, the moment it ends; otherwise null. */
  lockedUntil: Date | null;
}

/**
 * The status of a two_factor_auth row (null: the user never started set-up) at `nowMs`; pure.
 * @example const status = statusOf(await twoFactor.findByUserId(userId), clock.now().getTime());
 */
export function statusOf(record: TwoFactorRecord | null, nowMs: number): TwoFactorStatus {
  const lockedUntil = record && isLocked(record.lockedUntilMs, nowMs) ? new Date(record.lockedUntilMs!) : null;
  if (!record?.enabled) return { enabled: false, createdAt: null, backupCodesRemaining: 0, lockedUntil };
  return { enabled: true, createdAt: record.createdAt, backupCodesRemaining: record.backupCodeHashes.length, lockedUntil };
}
