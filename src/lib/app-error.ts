/**
 * The one catalogue of refusals the app answers with (Fastify's createError('FST_ERR_…') in spirit):
 * code → HTTP status. Routes throw `new AppError('invalid_code')`; the error plugin renders
 * `{ error: { code, message } }`.
 */
export const APP_ERRORS = {
  invalid_input: [400, 'The request is not valid.'],
  invalid_credentials: [401, 'Wrong username or password.'],
  not_authenticated: [401, 'Sign in first.'],
  // One answer for a wrong code and a reused one, TOTP or backup code alike, so it tells a guesser nothing more (issue 11).
  invalid_code: [401, 'That code is not valid. Each code works only once.'],
  // One answer for every refused passkey (unknown, another user's, expired or reused challenge, bad signature, clone).
  passkey_refused: [401, 'That passkey was not accepted. Try again, or sign in with your password.'],
  passkey_not_added: [400, 'The passkey was not added (the request expired or the authenticator did not answer); try again.'],
  two_factor_pending_expired: [401, 'The sign-in took too long or had too many wrong codes; sign in with your password again.'],
  forbidden: [403, 'You are not allowed to do that.'],
  csrf_invalid: [403, 'The form expired; reload the page and try again.'],
  registration_closed: [403, 'Registration is closed; ask an operator for an account.'],
  two_factor_required: [403, 'Enable two-factor authentication first.'],
  not_found: [404, 'Not found.'],
  username_taken: [409, 'That username is taken.'],
  two_factor_already_enabled: [409, 'Two-factor authentication is already enabled.'],
  two_factor_not_set_up: [409, 'Start two-factor set-up first.'],
  two_factor_not_enabled: [409, 'Two-factor authentication is not enabled.'],
  payload_too_large: [413, 'The request body is too large.'],
  unsupported_media_type: [415, 'Send the body as application/json.'],
  too_many_attempts: [429, 'Too many attempts; wait and try again.'],
  internal: [500, 'Something went wrong on our side.'],
  service_unavailable: [503, 'The service is not available right now; try again shortly.'],
} as const satisfies Record<string, readonly [number, string]>;

/** A code of the catalogue. */
export type AppErrorCode = keyof typeof APP_ERRORS;

/** A refused request: a code from APP_ERRORS, its HTTP status, and a message safe to show. */
export class AppError extends Error {
  override name = 'AppError';
  readonly statusCode: number;
  constructor(
    readonly code: AppErrorCode,
    message?: string,
    readonly extra: { retryAfterSeconds?: number; details?: unknown } = {},
    options?: { cause?: unknown },
  ) {
    super(message ?? APP_ERRORS[code][1], options);
    this.statusCode = APP_ERRORS[code][0];
  }
}
