import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { authRateLimit } from '../plugins/auth-rate-limit.ts';
import { ERROR_RESPONSES, OneTimeCodeBody, PublicUser } from '../schemas.ts';
import { completeTwoFactorSignIn } from '../two-factor-sign-in.ts';

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
    schema: { body: OneTimeCodeBody, response: { 200: TwoFactorSignInResponse, ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    const done = await completeTwoFactorSignIn(request, reply, request.body.code);
    return { status: 'authenticated' as const, user: { id: done.user.id, username: done.user.username }, backupCodesRemaining: done.backupCodesRemaining };
  });
};
