import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AppError } from '../../lib/app-error.ts';
import { changePassword } from '../../modules/account/change-password.ts';
import { recordSecurityEvent } from '../../modules/audit/security-events.ts';
import { MAX_CODE_INPUT_LENGTH } from '../../modules/two-factor/second-factor-input.ts';
import { revokeUserSession } from '../../modules/sessions/session-listing.ts';
import { formatWait } from '../format-wait.ts';
import { authRateLimit } from '../plugins/auth-rate-limit.ts';
import { setRetryAfter } from '../plugins/error-handler.ts';
import { clearSessionCookie, setSessionCookie } from '../plugins/session-cookie.ts';
import { secondFactorFailureToAppError } from '../second-factor-errors.ts';
import { CsrfForm, Field, MAX_PASSWORD_INPUT_LENGTH } from '../schemas.ts';
import { renderSecurityPage, type SecurityFormError } from './account-pages.ts';

const PasswordForm = Type.Object({
  currentPassword: Field(MAX_PASSWORD_INPUT_LENGTH),
  newPassword: Field(MAX_PASSWORD_INPUT_LENGTH),
  code: Type.Optional(Field(MAX_CODE_INPUT_LENGTH)),
  _csrf: Field(200),
});
const SessionParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

/** The field a refused password change marks (WCAG 3.3.1), from the refusal. */
function passwordFieldFor(error: AppError): SecurityFormError['field'] {
  if (error.code === 'invalid_credentials') return 'password';
  if (error.code === 'invalid_code') return 'code';
  if (error.code === 'invalid_input') return (error.extra.details as { field?: string } | undefined)?.field === 'code' ? 'code' : 'newPassword';
  return undefined;
}

/**
 * The form posts of /settings/security's "Change password" and "Signed-in sessions" sections (register inside a
 * `requireSession()` pages context; CSRF-checked like every form): each answers with a redirect (303) on success, so the
 * page works without JavaScript.
 */
export const accountSecurityPageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { deps, services } = app;

  app.post('/settings/security/password', { config: authRateLimit(), schema: { body: PasswordForm } }, async (request, reply) => {
    const { body } = request;
    try {
      const input = { currentPassword: body.currentPassword, newPassword: body.newPassword, code: body.code };
      const result = await changePassword({ ...deps, ...services }, request.auth!.session, input, request.meta);
      if (!result.ok) throw secondFactorFailureToAppError(result);
      setSessionCookie(request, reply, result.issued);
      return reply.redirect('/settings/security?notice=password-changed', 303);
    } catch (error) {
      if (!(error instanceof AppError) || !['invalid_credentials', 'invalid_code', 'invalid_input', 'too_many_attempts'].includes(error.code)) throw error;
      setRetryAfter(reply, error);
      const message = error.code === 'too_many_attempts' ? `Too many wrong attempts. Try again in ${formatWait(error.extra.retryAfterSeconds ?? 1)}.` : error.message;
      return renderSecurityPage(request, reply, { formError: { form: 'password', message, field: passwordFieldFor(error) } }, error.statusCode);
    }
  });

  app.post('/settings/security/sessions/:id/revoke', { schema: { params: SessionParams, body: CsrfForm } }, async (request, reply) => {
    const { user, session } = request.auth!;
    const ended = await revokeUserSession(deps.db, services.sessionIdKey, user.id, request.params.id);
    if (!ended) throw new AppError('not_found', 'No such session.');
    await recordSecurityEvent(deps.db, { userId: user.id, type: 'session_revoked', meta: request.meta, detail: { current: ended === session.id }, at: deps.clock.now() });
    if (ended !== session.id) return reply.redirect('/settings/security?notice=session-ended', 303);
    clearSessionCookie(request, reply);
    return reply.redirect('/login?notice=signed-out', 303);
  });

  app.post('/settings/security/sessions/revoke-others', { schema: { body: CsrfForm } }, async (request, reply) => {
    const { user, session } = request.auth!;
    const ended = await services.sessions.destroyUserSessions(user.id, session.id);
    await recordSecurityEvent(deps.db, { userId: user.id, type: 'other_sessions_revoked', meta: request.meta, detail: { sessionsEnded: ended }, at: deps.clock.now() });
    return reply.redirect('/settings/security?notice=other-sessions-ended', 303);
  });
};
