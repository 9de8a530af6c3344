import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AppError } from '../../lib/app-error.ts';
import { recordSecurityEvent } from '../../modules/audit/security-events.ts';
import { changePassword } from '../../modules/account/change-password.ts';
import { listUserSessions, revokeUserSession } from '../../modules/sessions/session-listing.ts';
import { authRateLimit } from '../plugins/auth-rate-limit.ts';
import { clearSessionCookie, setSessionCookie } from '../plugins/session-cookie.ts';
import { secondFactorFailureToAppError } from '../second-factor-errors.ts';
import { ERROR_RESPONSES, MAX_PASSWORD_INPUT_LENGTH, OneTimeCode } from '../schemas.ts';

// Fields are optional in the schema so the module explains a missing one (400 with details.field, or 401 for the password).
const ChangePasswordBody = Type.Object(
  {
    currentPassword: Type.Optional(Type.String({ maxLength: MAX_PASSWORD_INPUT_LENGTH })),
    newPassword: Type.Optional(Type.String({ maxLength: MAX_PASSWORD_INPUT_LENGTH })),
    code: Type.Optional(OneTimeCode),
  },
  { additionalProperties: false },
);
const ChangePasswordResponse = Type.Object({ otherSessionsEnded: Type.Integer() });
const ListedSession = Type.Object({
  id: Type.String(),
  createdAt: Type.String(),
  lastSeenAt: Type.String(),
  ip: Type.Union([Type.String(), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean(),
});
const SessionParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

/**
 * The account's password and sessions (issue 8; OWASP ASVS 2.1.5, 3.3.3, 3.3.4): POST /api/account/password,
 * GET /api/sessions, DELETE /api/sessions/:id, POST /api/sessions/revoke-others. Register inside a `requireSession()`
 * context.
 */
export const accountSecurityApiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { deps, services } = app;

  app.post('/account/password', {
    config: authRateLimit(),
    schema: { body: ChangePasswordBody, response: { 200: ChangePasswordResponse, ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    const result = await changePassword({ ...deps, ...services }, request.auth!.session, request.body, request.meta);
    if (!result.ok) throw secondFactorFailureToAppError(result);
    // The current session continues under a new token; every other session (and remembered device) is gone.
    setSessionCookie(request, reply, result.issued);
    return { otherSessionsEnded: result.otherSessionsEnded };
  });

  app.get('/sessions', { schema: { response: { 200: Type.Object({ sessions: Type.Array(ListedSession) }), ...ERROR_RESPONSES } } }, async (request) => {
    const { user, session } = request.auth!;
    const sessions = await listUserSessions(deps.db, services.sessionIdKey, user.id, session.id, deps.clock.now().getTime());
    return { sessions: sessions.map((s) => ({ ...s, createdAt: s.createdAt.toISOString(), lastSeenAt: s.lastSeenAt.toISOString() })) };
  });

  app.delete('/sessions/:id', { schema: { params: SessionParams, response: { 204: Type.Null(), ...ERROR_RESPONSES } } }, async (request, reply) => {
    const { user, session } = request.auth!;
    // Only the caller's own sessions: another user's id answers exactly like a made-up one (404).
    const ended = await revokeUserSession(deps.db, services.sessionIdKey, user.id, request.params.id);
    if (!ended) throw new AppError('not_found', 'No such session.');
    await recordSecurityEvent(deps.db, { userId: user.id, type: 'session_revoked', meta: request.meta, detail: { current: ended === session.id }, at: deps.clock.now() });
    if (ended === session.id) clearSessionCookie(request, reply);
    return reply.code(204).send(null);
  });

  app.post('/sessions/revoke-others', {
    schema: { body: Type.Optional(Type.Object({}, { additionalProperties: false })), response: { 204: Type.Null(), ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    const { user, session } = request.auth!;
    const ended = await services.sessions.destroyUserSessions(user.id, session.id);
    await recordSecurityEvent(deps.db, { userId: user.id, type: 'other_sessions_revoked', meta: request.meta, detail: { sessionsEnded: ended }, at: deps.clock.now() });
    return reply.code(204).send(null);
  });
};
