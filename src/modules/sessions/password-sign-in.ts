import type { AppDb } from '../../db/database.ts';
import type { Clock } from '../../lib/clock.ts';
import { recordSecurityEvent, type RequestMeta } from '../audit/security-events.ts';
import { useRememberedDevice } from '../remembered-devices/remembered-devices.ts';
import type { TwoFactorRepository } from '../two-factor/two-factor.repository.ts';
import type { User } from '../users/users.repository.ts';
import type { UsersService } from '../users/users.service.ts';
import type { IssuedSession, SessionService } from './session.service.ts';

/** The outcome of a correct password: a full session, or a pending one that only allows the second factor. */
export interface PasswordSignIn {
  status: 'authenticated' | 'two_factor_required';
  user: User;
  issued: IssuedSession;
  /** Wrong or throttled password attempts on this account since its previous successful sign-in (shown to the user). */
  failedAttemptsSinceLastSignIn: number;
  /** True when a remembered device of this user stood in for the second factor. */
  rememberedDevice?: boolean;
}

/** What {@link signInWithPassword} needs. */
export interface PasswordSignInDeps {
  db: AppDb;
  clock: Clock;
  users: UsersService;
  sessions: SessionService;
  twoFactor: TwoFactorRepository;
  /** When given, a user with a passkey but no TOTP also needs the second step (the passkey is their second factor). */
  passkeys?: { repository: { hasAny(userId: number): Promise<boolean> } };
}

/**
 * First sign-in step: checks the password (same answer and time for unknown users), drops the previous session
 * (no fixation, OWASP ASVS 3.2.1) and issues a new one — `pending_two_factor` (5 min, nothing else allowed) when the
 * user has 2FA enabled, else `authenticated`. Returns null for wrong credentials; throws AppError too_many_attempts
 * while the account's password throttle is in force (the password is then not checked).
 * @example const result = await signInWithPassword(deps, { username, password }, { previousSessionId, meta });
 */
export async function signInWithPassword(
  deps: PasswordSignInDeps,
  input: { username: string; password: string },
  options: { previousSessionId?: string | null; meta?: RequestMeta; rememberedDeviceToken?: unknown } = {},
): Promise<PasswordSignIn | null> {
  // Throws too_many_attempts (429) while the account's password throttle is in force (NIST SP 800-63B §5.2.2).
  const check = await deps.users.authenticate(input.username, input.password, options.meta);
  if (!check) return null;
  const { user, failedAttemptsSinceLastSignIn } = check;
  if (options.previousSessionId) await deps.sessions.destroySession(options.previousSessionId);
  const record = await deps.twoFactor.findByUserId(user.id);
  // A passkey is a second factor too (CREW_REQUIRE_2FA counts it): read only when TOTP is off, to spare TOTP users a query.
  const secondFactorEnabled = record?.enabled === true || ((await deps.passkeys?.repository.hasAny(user.id)) ?? false);
  // A device this user remembered after a full two-factor sign-in (30 days, never another user's) skips the second step.
  const remembered = secondFactorEnabled && options.rememberedDeviceToken !== undefined && (await useRememberedDevice(deps, user.id, options.rememberedDeviceToken));
  const needsSecondFactor = secondFactorEnabled && !remembered;
  const issued = await deps.sessions.createSession(user.id, needsSecondFactor ? 'pending_two_factor' : 'authenticated', options.meta);
  await recordSecurityEvent(deps.db, {
    userId: user.id,
    type: 'sign_in_password',
    meta: options.meta,
    detail: { secondFactor: remembered ? 'remembered_device' : needsSecondFactor ? 'required' : 'not_enabled', failedAttemptsSinceLastSignIn },
    at: deps.clock.now(),
  });
  if (remembered) await recordSecurityEvent(deps.db, { userId: user.id, type: 'sign_in_remembered_device', meta: options.meta, at: deps.clock.now() });
  return { status: needsSecondFactor ? 'two_factor_required' : 'authenticated', user, issued, failedAttemptsSinceLastSignIn, rememberedDevice: remembered };
}

/**
 * Registration: creates the user (UsersService validates and may throw invalid_input / username_taken), drops the
 * previous session (no fixation, OWASP ASVS 3.2.1) and signs the new user in with a new `authenticated` session.
 * @example const { user, issued } = await registerAndSignIn(deps, { username, password, email }, { previousSessionId, meta });
 */
export async function registerAndSignIn(
  deps: Pick<PasswordSignInDeps, 'users' | 'sessions'>,
  input: { username: string; password: string; email: string | null },
  options: { previousSessionId?: string | null; meta?: RequestMeta } = {},
): Promise<{ user: User; issued: IssuedSession }> {
  const user = await deps.users.createUser(input, options.meta);
  if (options.previousSessionId) await deps.sessions.destroySession(options.previousSessionId);
  return { user, issued: await deps.sessions.createSession(user.id, 'authenticated', options.meta) };
}

/** Signing out: ends the session (of any state) and records 'sign_out' for its user. */
export async function signOut(
  deps: Pick<PasswordSignInDeps, 'db' | 'clock' | 'sessions'>,
  session: { sessionId: string; userId: number },
  meta?: RequestMeta,
): Promise<void> {
  await deps.sessions.destroySession(session.sessionId);
  await recordSecurityEvent(deps.db, { userId: session.userId, type: 'sign_out', meta, at: deps.clock.now() });
}
