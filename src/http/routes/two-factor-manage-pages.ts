import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import { disableTwoFactor, regenerateBackupCodes } from '../../modules/two-factor/two-factor-management.ts';
import { formatWait } from '../format-wait.ts';
import { authRateLimit } from '../plugins/auth-rate-limit.ts';
import { setRetryAfter } from '../plugins/error-handler.ts';
import { secondFactorFailureToAppError } from '../second-factor-errors.ts';
import { Field, MAX_PASSWORD_INPUT_LENGTH, OneTimeCodeForm } from '../schemas.ts';
import { MAX_CODE_INPUT_LENGTH } from '../../modules/two-factor/second-factor-input.ts';
import { renderBackupCodesPage, renderSecurityPage, type SecurityFormError } from './account-pages.ts';

const DisableForm = Type.Object({ password: Field(MAX_PASSWORD_INPUT_LENGTH), code: Field(MAX_CODE_INPUT_LENGTH), _csrf: Field(200) });

/**
 * The field a refused step-up puts focus on (and marks aria-invalid, WCAG 3.3.1): the wrong or missing one; none for
 * a lockout or a refusal by policy, where focus goes to the message itself.
 */
function fieldFor(error: AppError, form: SecurityFormError['form'], body: { password?: string }): SecurityFormError['field'] {
  if (error.code === 'invalid_credentials') return 'password';
  if (error.code === 'invalid_code') return 'code';
  if (error.code === 'invalid_input') return form === 'disable' && !body.password ? 'password' : 'code';
  return undefined;
}

/** The message a refused step-up shows next to its form; a lockout names the wait. */
function messageFor(error: AppError, form: SecurityFormError['form']): string {
  if (error.code === 'too_many_attempts') {
    return `Too many wrong codes or passwords. Try again in ${formatWait(error.extra.retryAfterSeconds ?? 1)}; until then even a correct code is refused.`;
  }
  // Regenerate takes a TOTP code only (docs/SECURITY.md), and the mapped message already says so.
  if (error.code === 'invalid_input' && form === 'disable') return 'Enter your password and a code from your app or a backup code.';
  return error.message;
}

/**
 * The form posts behind the regenerate and disable sections of /settings/security (register inside a
 * `requireSession()` context): new backup codes are shown once; turning 2FA off signs out the user's other sessions.
 */
export const twoFactorManagementPageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { deps } = app;
  const moduleDeps = { ...deps, ...app.services };
  const refusable = new Set(['invalid_code', 'invalid_credentials', 'invalid_input', 'too_many_attempts', 'forbidden']);

  /** A refused step-up: back to settings if 2FA is off meanwhile, else the page again with the message by its form. */
  async function refuse(request: FastifyRequest, reply: FastifyReply, error: unknown, form: SecurityFormError['form']): Promise<FastifyReply> {
    if (!(error instanceof AppError)) throw error;
    if (error.code === 'two_factor_not_enabled') return reply.redirect('/settings/security', 303);
    if (!refusable.has(error.code)) throw error;
    setRetryAfter(reply, error);
    const field = fieldFor(error, form, request.body as { password?: string });
    return renderSecurityPage(request, reply, { formError: { form, message: messageFor(error, form), field } }, error.statusCode);
  }

  app.post('/settings/security/2fa/backup-codes', { config: authRateLimit(), schema: { body: OneTimeCodeForm } }, async (request, reply) => {
    const user = request.auth!.user;
    try {
      const result = await regenerateBackupCodes(moduleDeps, user.id, request.body.code, request.meta);
      if (!result.ok) throw secondFactorFailureToAppError(result, { acceptBackupCode: false });
      return renderBackupCodesPage(reply, result.backupCodes, deps.config.issuer, user.username, {
        title: 'Your new backup codes',
        lead: 'Your old backup codes no longer work.',
      });
    } catch (error) {
      return refuse(request, reply, error, 'regenerate');
    }
  });

  app.post('/settings/security/2fa/disable', { config: authRateLimit(), schema: { body: DisableForm } }, async (request, reply) => {
    const auth = request.auth!;
    const { body } = request;
    try {
      // Refused (403) when CREW_REQUIRE_2FA covers the user; on success the user's other sessions are signed out.
      const options = { require2fa: deps.config.require2fa, role: auth.user.role, keepSessionId: auth.session.id };
      const result = await disableTwoFactor(moduleDeps, auth.user.id, { password: body.password, code: body.code }, request.meta, options);
      if (!result.ok) throw secondFactorFailureToAppError(result);
    } catch (error) {
      return refuse(request, reply, error, 'disable');
    }
    return reply.redirect('/settings/security?notice=two-factor-disabled', 303);
  });
};
