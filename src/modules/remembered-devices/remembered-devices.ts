// Remembered devices: after a full two-factor sign-in the user may tick "Remember this device for 30 days"; the browser
// then gets a separate HttpOnly cookie with a 256-bit random token whose SHA-256 is stored with the user. While it is
// valid, the password alone signs in on that device (NIST SP 800-63B §4.2.3/§7.2 reauthentication: a device bound to
// the user after a full AAL2 sign-in; OWASP ASVS 2.7/3.3). The token is never honoured for another user or after its
// expiry, and every one of a user's devices is forgotten when 2FA is turned off or reset, or the password changes.
import type { Selectable } from 'kysely';
import type { AppDb, RememberedDevicesTable } from '../../db/database.ts';
import type { Clock } from '../../lib/clock.ts';
import type { RandomSource } from '../../lib/random.ts';
import { recordSecurityEvent, type RequestMeta } from '../audit/security-events.ts';
import { generateToken, hashSessionToken, isTokenShaped } from '../sessions/session-token.ts';

/** How long a remembered device skips the second factor: 30 days from when it was remembered (not sliding). */
export const REMEMBER_DEVICE_MS = 30 * 24 * 60 * 60 * 1000;

/** A remembered device as listed to its owner (never the token or its hash). */
export interface RememberedDevice {
  id: number;
  userAgent: string | null;
  ip: string | null;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
}

/** What the functions here need. */
export interface RememberedDeviceDeps {
  db: AppDb;
  clock: Clock;
  random: RandomSource;
}

function toDevice(row: Selectable<RememberedDevicesTable>): RememberedDevice {
  return {
    id: Number(row.id),
    userAgent: row.user_agent,
    ip: row.ip,
    createdAt: new Date(Number(row.created_at_ms)),
    lastUsedAt: new Date(Number(row.last_used_at_ms)),
    expiresAt: new Date(Number(row.expires_at_ms)),
  };
}

/**
 * Remembers this device for the user: stores the SHA-256 of a new random token and returns the token (for the cookie
 * only) with its expiry. Records 'device_remembered'.
 * @example const { token, expiresAt } = await rememberDevice(deps, user.id, request.meta);
 */
export async function rememberDevice(deps: RememberedDeviceDeps, userId: number, meta?: RequestMeta): Promise<{ token: string; expiresAt: Date }> {
  const token = generateToken(deps.random);
  const now = deps.clock.now();
  const expiresAtMs = now.getTime() + REMEMBER_DEVICE_MS;
  // Expired rows of this user go on the way (no sweeper needed).
  await deps.db.deleteFrom('remembered_devices').where('user_id', '=', userId).where('expires_at_ms', '<=', now.getTime()).execute();
  await deps.db
    .insertInto('remembered_devices')
    .values({
      token_hash: hashSessionToken(token),
      user_id: userId,
      created_at_ms: now.getTime(),
      last_used_at_ms: now.getTime(),
      expires_at_ms: expiresAtMs,
      user_agent: meta?.userAgent?.slice(0, 300) ?? null,
      ip: meta?.ip ?? null,
    })
    .execute();
  await recordSecurityEvent(deps.db, { userId, type: 'device_remembered', meta, at: now });
  return { token, expiresAt: new Date(expiresAtMs) };
}

/**
 * Whether `token` is a live remembered device OF THIS USER, in one statement that also records the use: the row must
 * match the token's hash, the user and an unexpired lifetime. A token of another user, an expired or a forgotten one is
 * false.
 */
export async function useRememberedDevice(deps: Pick<RememberedDeviceDeps, 'db' | 'clock'>, userId: number, token: unknown): Promise<boolean> {
  if (!isTokenShaped(token)) return false;
  const now = deps.clock.now().getTime();
  const result = await deps.db
    .updateTable('remembered_devices')
    .set({ last_used_at_ms: now })
    .where('token_hash', '=', hashSessionToken(token))
    .where('user_id', '=', userId)
    .where('expires_at_ms', '>', now)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** The user's live remembered devices, newest first. */
export async function listRememberedDevices(deps: Pick<RememberedDeviceDeps, 'db' | 'clock'>, userId: number): Promise<RememberedDevice[]> {
  const rows = await deps.db
    .selectFrom('remembered_devices')
    .selectAll()
    .where('user_id', '=', userId)
    .where('expires_at_ms', '>', deps.clock.now().getTime())
    .orderBy('created_at_ms', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map(toDevice);
}

/** Forgets one of the user's devices; false when the user has no device with that id. Records 'remembered_device_revoked'. */
export async function revokeRememberedDevice(deps: Pick<RememberedDeviceDeps, 'db' | 'clock'>, userId: number, id: number, meta?: RequestMeta): Promise<boolean> {
  const result = await deps.db.deleteFrom('remembered_devices').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  if (Number(result.numDeletedRows) !== 1) return false;
  await recordSecurityEvent(deps.db, { userId, type: 'remembered_device_revoked', meta, detail: { deviceId: id }, at: deps.clock.now() });
  return true;
}

/**
 * Forgets EVERY remembered device of a user and returns how many there were; records 'remembered_devices_revoked'
 * (with `reason`) when there were any. Called when 2FA is turned off or reset, by the user's "Forget all", and meant for
 * the password change too (a new password must not be skippable into a full sign-in by an old device cookie).
 * @example await revokeRememberedDevices({ db, clock }, user.id, 'password_changed', meta);
 */
export async function revokeRememberedDevices(
  deps: Pick<RememberedDeviceDeps, 'db' | 'clock'>,
  userId: number,
  reason: 'password_changed' | 'two_factor_disabled' | 'two_factor_reset' | 'user_request',
  meta?: RequestMeta,
): Promise<number> {
  const result = await deps.db.deleteFrom('remembered_devices').where('user_id', '=', userId).executeTakeFirst();
  const count = Number(result.numDeletedRows);
  if (count > 0) await recordSecurityEvent(deps.db, { userId, type: 'remembered_devices_revoked', meta, detail: { reason, count }, at: deps.clock.now() });
  return count;
}
