import { Type, type Static } from '@sinclair/typebox';

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

/** A 6-digit TOTP code (spaces allowed); the length bound keeps huge strings out. */
export const CodeBody = Type.Object({ code: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });
/** Body of POST /api/2fa/enable and friends. */
export type CodeBody = Static<typeof CodeBody>;

/** Error answers every route may give. */
export const ERROR_RESPONSES = { '4xx': ErrorResponse, '5xx': ErrorResponse } as const;
