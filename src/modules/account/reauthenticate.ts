import { AppError } from '../../lib/app-error.ts';
import type { RequestMeta } from '../audit/security-events.ts';
import type { PasswordPurpose, UsersService } from '../users/users.service.ts';

/** What {@link reauthenticate} needs: the users service (with its password throttle). */
export interface ReauthenticateDeps {
  users: UsersService;
}

/**
 * Re-authentication before a sensitive change (NIST SP 800-63B §6.1.2 and OWASP ASVS 2.1.x / 3.7.1: a session alone must
 * not change authenticators). Checks the signed-in user's password through the same per-account throttle as sign-in, so
 * a wrong one counts like a failed sign-in. Resolves when it matches; throws AppError invalid_credentials (401) for a
 * wrong or missing password, too_many_attempts (429) while the account must wait, not_authenticated if the user is gone.
 * Used by POST /api/2fa/setup and the set-up form; passkey registration will call it too.
 * @example await reauthenticate(app.services, request.auth!.user.id, request.body.password, request.meta);
 */
export async function reauthenticate(
  deps: ReauthenticateDeps,
  userId: number,
  password: unknown,
  meta?: RequestMeta,
  purpose: PasswordPurpose = 'reauthenticate',
): Promise<void> {
  const user = await deps.users.findById(userId);
  if (!user) throw new AppError('not_authenticated');
  // A missing password is a wrong one (401), and is not counted: nothing was guessed.
  if (typeof password !== 'string' || password.length === 0) throw new AppError('invalid_credentials', 'Enter your password.');
  const match = await deps.users.verifyPassword(user.username, password, meta, purpose);
  if (!match || match.id !== userId) throw new AppError('invalid_credentials', 'That password is not right.');
}
