import type { Config } from '../../config.ts';
import { AppError } from '../../lib/app-error.ts';

/** Whether CREW_REQUIRE_2FA covers this user (everyone with `all`, admins with `admins`). */
export function coveredByRequire2fa(config: Pick<Config, 'require2fa'>, user: { role: string }): boolean {
  return config.require2fa === 'all' || (config.require2fa === 'admins' && user.role === 'admin');
}

/**
 * Refuses turning 2FA off for a user whom CREW_REQUIRE_2FA covers: the policy would only send them
 * straight back to enrolment, and a stolen session plus password must not weaken a required factor.
 * A lost phone is an operator's `crew 2fa reset`.
 */
export function assertMayDisableTwoFactor(config: Pick<Config, 'require2fa'>, user: { role: string }): void {
  if (coveredByRequire2fa(config, user)) {
    throw new AppError('forbidden', 'Two-factor authentication is required for your account and cannot be turned off. Regenerate your backup codes instead, or ask an operator to reset it if you lost your phone.');
  }
}
