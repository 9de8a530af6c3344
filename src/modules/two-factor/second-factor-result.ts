/** The second factors the pipeline knows; a new factor (e.g. a passkey) adds its name here and a method beside the others. */
export type SecondFactorKind = 'totp' | 'backup_code';

/** Why a code is being checked; only 'sign_in' records the sign_in_with_* events (callers log their own action). */
export type SecondFactorPurpose = 'sign_in' | 'disable' | 'regenerate_backup_codes' | 'change_password';

/** A verified second factor. */
export interface SecondFactorSuccess {
  ok: true;
  method: SecondFactorKind;
  backupCodesRemaining: number;
}

/** Why a second factor was refused. */
export type SecondFactorRefusalReason =
  | 'invalid'
  | 'replayed'
  | 'locked'
  | 'malformed'
  | 'not_enabled'
  /** The password asked for alongside the code (turning 2FA off) was wrong; the code was not looked at. */
  | 'wrong_password'
  /** The pending sign-in is gone (timed out, ended after its last attempt, or completed by a concurrent request). */
  | 'pending_sign_in_ended';

/** A refused second factor; `counted` says whether this attempt was added to the account's attempt count. */
export interface SecondFactorFailure {
  ok: false;
  reason: SecondFactorRefusalReason;
  counted: boolean;
  /** With reason 'locked': whole seconds until the lockout ends (the 429's retryAfterSeconds). */
  retryAfterSeconds?: number;
  /** With 'invalid' / 'replayed' / 'wrong_password': wrong attempts left before the account locks. */
  failuresRemaining?: number;
}

/** Result of verifying a second factor; never thrown, always checked. */
export type SecondFactorResult = SecondFactorSuccess | SecondFactorFailure;

/** The refusal for input that cannot be a code: nothing was read, counted or changed. */
export const MALFORMED_CODE: SecondFactorFailure = Object.freeze({ ok: false, reason: 'malformed', counted: false });

/** The refusal for a user without enabled two-factor authentication: nothing was counted. */
export const NOT_ENABLED: SecondFactorFailure = Object.freeze({ ok: false, reason: 'not_enabled', counted: false });
