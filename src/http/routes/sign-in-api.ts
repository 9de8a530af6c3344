import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { authRateLimit } from '../plugins/auth-rate-limit.ts';
import { rememberThisDevice } from '../remembered-device-cookie.ts';
import { ERROR_RESPONSES, OneTimeCode, PublicUser } from '../schemas.ts';
import { completeTwoFactorSignIn } from '../two-factor-sign-in.ts';

/** `{code, rememberDevice?}`: a one-time code, and whether to remember this device for 30 days. */
const TwoFactorSignInBody = Type.Object({ code: OneTimeCode, rememberDevice: Type.Optional(Type.Boolean()) }, { additionalProperties: false });

const TwoFactorSignInResponse = Type.Object({
  status: Type.Literal('authenticated'),
  user: PublicUser,
  backupCodesRemaining: Type.Integer(),
});

/**
 * POST /api/auth/login/two-factor `{code}` → 200 `{status:"authenticated", user, backupCodesRemaining}`: the second
 * sign-in step. Register inside a `requireSession({ state: 'pending_two_factor' })` context.
 */
export const twoFactorSignInApiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // Per-IP limit in memory (CREW_AUTH_RATE_LIMIT, OWASP ASVS 2.2.1); the account lockout is shared in the database.
  // The schema refuses non-strings, '' and > MAX_CODE_INPUT_LENGTH characters with 400 before the service sees them; the service
  // refuses every other malformed string with 400 too, and neither is counted.
  app.post('/auth/login/two-factor', {
    config: authRateLimit({ keepUnknownSessionCookie: true }),
    schema: { body: TwoFactorSignInBody, response: { 200: TwoFactorSignInResponse, ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    const done = await completeTwoFactorSignIn(request, reply, request.body.code);
    if (request.body.rememberDevice === true) await rememberThisDevice(request, reply, done.user.id);
    return { status: 'authenticated' as const, user: { id: done.user.id, username: done.user.username }, backupCodesRemaining: done.backupCodesRemaining };
  });
};
