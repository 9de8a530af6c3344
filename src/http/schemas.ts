import { Type } from '@sinclair/typebox';
import { MAX_CODE_INPUT_LENGTH } from '../modules/two-factor/second-factor-input.ts';
import { MAX_PASSWORD_INPUT_LENGTH } from '../modules/users/password-policy.ts';

export { MAX_PASSWORD_INPUT_LENGTH };

/**
 * The contract's error answer `{ error: { code, message } }`; a 429 also carries `retryAfterSeconds`, both inside
 * `error` and beside it, so clients reading either place find it.
 */
export const ErrorResponse = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    retryAfterSeconds: Type.Optional(Type.Integer()),
    details: Type.Optional(Type.Unknown()),
  }),
  retryAfterSeconds: Type.Optional(Type.Integer()),
});

/** The public face of a user in API answers (the response schema drops every other field). */
export const PublicUser = Type.Object({ id: Type.Integer(), username: Type.String() });

/**
 * A one-time code field: a TOTP code, or a backup code where the route accepts one. The length bound keeps huge strings
 * out; the module's classifier (same bound) decides what the string is.
 */
export const OneTimeCode = Type.String({ minLength: 1, maxLength: MAX_CODE_INPUT_LENGTH });
/** Body `{code}` of the JSON routes that take one one-time code (sign-in step, enable, regenerate). */
export const OneTimeCodeBody = Type.Object({ code: OneTimeCode }, { additionalProperties: false });

/** Error answers every route may give. */
export const ERROR_RESPONSES = { '4xx': ErrorResponse, '5xx': ErrorResponse } as const;

/**
 * A string field of an HTML form. Browsers send every field, empty or not, so the handlers (not the schema) explain
 * empty fields to people; the schema still bounds sizes and types.
 */
export const Field = (maxLength: number) => Type.String({ maxLength });
/** A form that carries only its CSRF token (e.g. logout, start 2FA set-up). */
export const CsrfForm = Type.Object({ _csrf: Field(200) });
/** A form with one one-time code field (TOTP or backup code) and the CSRF token. */
export const OneTimeCodeForm = Type.Object({ code: Field(MAX_CODE_INPUT_LENGTH), _csrf: Field(200) });
/** `?notice=…`: which fixed message a page shows after a redirect. */
export const NoticeQuery = Type.Object({ notice: Type.Optional(Field(40)) });
