import { AppError } from '../lib/app-error.ts';
import type { SecondFactorFailure } from '../modules/two-factor/second-factor-result.ts';

/**
 * Maps a refused second factor to the AppError the HTTP layer answers with: locked → 429 too_many_attempts with the
 * lock's real retryAfterSeconds, malformed → 400, not_enabled → 409, invalid/replayed → 401 invalid_code (the same answer), a wrong
 * password beside the code → 401 invalid_credentials, an ended pending sign-in → 401 two_factor_pending_expired.
 * Pass the route's `acceptBackupCode` so a malformed answer only offers backup codes where they are accepted.
 * @example const r = await regenerateBackupCodes(deps, userId, body.code, meta); if (!r.ok) throw secondFactorFailureToAppError(r, { acceptBackupCode: false });
 */
export function secondFactorFailureToAppError(failure: SecondFactorFailure, options: { acceptBackupCode?: boolean } = {}): AppError {
  switch (failure.reason) {
    case 'locked':
      return new AppError('too_many_attempts', undefined, { retryAfterSeconds: failure.retryAfterSeconds });
    case 'malformed':
      return new AppError(
        'invalid_input',
        (options.acceptBackupCode ?? true)
          ? 'Enter the 6-digit code from your authenticator app or one of your backup codes.'
          : 'Enter the 6-digit code from your authenticator app; backup codes are not accepted here.',
      );
    case 'not_enabled':
      return new AppError('two_factor_not_enabled');
    case 'wrong_password':
      return new AppError('invalid_credentials', 'Wrong password.');
    case 'pending_sign_in_ended':
      return new AppError('two_factor_pending_expired');
    // A replayed code answers exactly like a wrong one: the owner sees the replay in the security events, while the
    // answer tells a guesser (or a phishing relay) nothing about which codes were once right (OWASP ASVS 2.8.4).
    case 'replayed':
    case 'invalid':
      return new AppError('invalid_code');
  }
}
