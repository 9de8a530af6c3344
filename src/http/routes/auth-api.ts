import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AppError } from '../../lib/app-error.ts';
import { registerAndSignIn, signInWithPassword, signOut } from '../../modules/sessions/password-sign-in.ts';
import { rememberedDeviceToken } from '../remembered-device-cookie.ts';
import { authRateLimit } from '../plugins/auth-rate-limit.ts';
import { clearSessionCookie, setSessionCookie } from '../plugins/session-cookie.ts';
import { ERROR_RESPONSES, MAX_PASSWORD_INPUT_LENGTH, PublicUser } from '../schemas.ts';

const RegisterBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_INPUT_LENGTH }),
    email: Type.Optional(Type.Union([Type.String({ maxLength: 254 }), Type.Null()])),
  },
  { additionalProperties: false },
);
const LoginBody = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_INPUT_LENGTH }) },
  { additionalProperties: false },
);
const LoginResponse = Type.Object({
  status: Type.Union([Type.Literal('authenticated'), Type.Literal('two_factor_required')]),
  user: Type.Optional(PublicUser),
  /**
   * Wrong or throttled password attempts since the previous successful sign-in (NIST SP 800-63B §5.2.2: tell the user).
   * Only on a full sign-in: the password alone is not one, so whoever holds a stolen password learns nothing more from
   * it; after the second factor, home shows the same count.
   */
  failedAttemptsSinceLastSignIn: Type.Optional(Type.Integer()),
});

/**
 * Public JSON routes of the sign-in flow: POST /api/auth/register, /api/auth/login, /api/auth/logout.
 * Register it inside the /api context (JSON-only hook).
 */
export const authApiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app.deps;

  app.post('/auth/register', {
    config: authRateLimit(),
    schema: { body: RegisterBody, response: { 201: Type.Object({ user: PublicUser }), ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    if (config.registration === 'closed') throw new AppError('registration_closed');
    const { body } = request;
    const input = { username: body.username, password: body.password, email: body.email ?? null };
    const { user, issued } = await registerAndSignIn(app.services, input, { previousSessionId: request.auth?.session.id, meta: request.meta });
    setSessionCookie(request, reply, issued);
    return reply.code(201).send({ user: { id: user.id, username: user.username } });
  });

  app.post('/auth/login', {
    config: authRateLimit(),
    schema: { body: LoginBody, response: { 200: LoginResponse, ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    const { body } = request;
    const result = await signInWithPassword({ ...app.deps, ...app.services }, body, { previousSessionId: request.auth?.session.id, meta: request.meta, rememberedDeviceToken: rememberedDeviceToken(request) });
    if (!result) throw new AppError('invalid_credentials');
    setSessionCookie(request, reply, result.issued);
    const failedAttemptsSinceLastSignIn = result.failedAttemptsSinceLastSignIn;
    if (result.status === 'two_factor_required') return { status: 'two_factor_required' as const };
    return { status: 'authenticated' as const, user: { id: result.user.id, username: result.user.username }, failedAttemptsSinceLastSignIn };
  });

  // Logout works from any session state (also a pending two-factor sign-in) and is idempotent.
  app.post('/auth/logout', { schema: { response: { 204: Type.Null(), ...ERROR_RESPONSES } } }, async (request, reply) => {
    const { auth } = request;
    if (auth) await signOut({ ...app.deps, ...app.services }, { sessionId: auth.session.id, userId: auth.user.id }, request.meta);
    clearSessionCookie(request, reply);
    return reply.code(204).send(null);
  });
};
