import type { AppDb } from '../../db/database.ts';
import { AppError } from '../../lib/app-error.ts';
import type { Clock } from '../../lib/clock.ts';
import { hashSecret } from '../../lib/password-hash.ts';
import { recordSecurityEvent, type RequestMeta } from '../audit/security-events.ts';
import type { IssuedSession, Session, SessionService } from '../sessions/session.service.ts';
import { verifySecondFactor } from '../two-factor/second-factor-pipeline.ts';
import type { SecondFactorFailure } from '../two-factor/second-factor-result.ts';
import type { TwoFactorRepository } from '../two-factor/two-factor.repository.ts';
import { checkPassword, MAX_PASSWORD_INPUT_LENGTH } from '../users/password-policy.ts';
import { UsersRepository } from '../users/users.repository.ts';
import type { UsersService } from '../users/users.service.ts';
import { revokeAfterPasswordChange } from './after-password-change.ts';
import { reauthenticate } from './reauthenticate.ts';

/** What {@link changePassword} needs. */
export interface ChangePasswordDeps {
  db: AppDb;
  clock: Clock;
  users: UsersService;
  sessions: SessionService;
  twoFactor: TwoFactorRepository;
}

/** The request: the current password, the new one, and a code when 2FA is on. */
export interface ChangePasswordInput {
  currentPassword?: unknown;
  newPassword?: unknown;
  code?: unknown;
}

/** A changed password: the current session's new token, and how many other sessions were ended. */
export type ChangePasswordResult = { ok: true; issued: IssuedSession; otherSessionsEnded: number } | SecondFactorFailure;

/**
 * Changes the signed-in user's password (OWASP ASVS 2.1.5 / 2.1.6): the new one must pass the policy (NIST SP 800-63B
 * §5.1.1.2) — checked first, so a refusal burns no attempt and no code; then the current password, through the
 * per-account throttle (401 invalid_credentials / 429); then, when 2FA is on, a TOTP or backup code through the
 * second-factor pipeline (counted toward its lockout; a failure is returned, not thrown). On success: the hash is
 * replaced by compare-and-swap, every OTHER session ends and the current one gets a new token (ASVS 3.3.3, 3.2.1), and a
 * `password_changed` event is recorded.
 * @example const r = await changePassword(deps, request.auth!.session, request.body, request.meta);
 */
export async function changePassword(deps: ChangePasswordDeps, session: Session, input: ChangePasswordInput, meta: RequestMeta): Promise<ChangePasswordResult> {
  const { currentPassword, newPassword } = input;
  if (typeof newPassword !== 'string' || newPassword.length === 0 || newPassword.length > MAX_PASSWORD_INPUT_LENGTH) {
    throw new AppError('invalid_input', 'Enter a new password.', { details: { field: 'newPassword' } });
  }
  const repo = new UsersRepository(deps.db);
  const user = await repo.findById(session.userId);
  if (!user) throw new AppError('not_authenticated');
  const verdict = checkPassword(newPassword, { username: user.username });
  if (!verdict.ok) throw new AppError('invalid_input', verdict.message, { details: { field: 'newPassword', reason: verdict.code } });
  const twoFactorOn = (await deps.twoFactor.findByUserId(user.id))?.enabled === true;
  if (twoFactorOn && (typeof input.code !== 'string' || input.code.trim() === '')) {
    throw new AppError('invalid_input', 'Enter a code from your authenticator app or a backup code.', { details: { field: 'code' } });
  }
  const before = await repo.findCredentialsByUsername(user.username);
  if (!before || before.user.id !== user.id) throw new AppError('not_authenticated');
  await reauthenticate(deps, user.id, currentPassword, meta, 'change_password');
  if (twoFactorOn) {
    const second = await verifySecondFactor(deps, user.id, input.code, meta, { purpose: 'change_password' });
    if (!second.ok) return second;
  }
  // Compare-and-swap on the hash read before the password was checked: a concurrent change wins, this one is refused.
  if (!(await repo.replacePasswordHash(user.id, before.passwordHash, await hashSecret(newPassword)))) {
    throw new AppError('invalid_credentials', 'Your password was changed meanwhile; sign in again.');
  }
  const { otherSessionsEnded } = await revokeAfterPasswordChange(deps, user.id, session.id, meta);
  const issued = await deps.sessions.rotateSession(session, 'authenticated', meta);
  await recordSecurityEvent(deps.db, { userId: user.id, type: 'password_changed', meta, detail: { otherSessionsEnded }, at: deps.clock.now() });
  return { ok: true, issued, otherSessionsEnded };
}
