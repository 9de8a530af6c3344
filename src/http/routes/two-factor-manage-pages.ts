import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import { disableTwoFactor, regenerateBackupCodes } from '../../modules/two-factor/two-factor-management.ts';
import { formatWait } from '../format-wait.ts';
import { authRateLimit } from '../plugins/auth-rate-limit.ts';
import { assertMayDisableTwoFactor } from '../plugins/require-session.ts';
import { renderBackupCodesPage, renderSecurityPage, type SecurityFormError } from './account-pages.ts';

const Field = (maxLength: number) => Type.String({ maxLength });
const RegenerateForm = Type.Object({ code: Field(64), _csrf: Field(200) });
const DisableForm = Type.Object({ password: Field(1024), code: Field(64), _csrf: Field(200) });

/** The message a refused step-up shows next to its form; a lockout names the wait. */
function messageFor(error: AppError, form: SecurityFormError['form']): string {
  if (error.code === 'too_many_attempts') {
    return `Too many wrong codes or passwords. Try again in ${formatWait(error.extra.retryAfterSeconds ?? 1)}; until then even a correct code is refused.`;
  }
  // Regenerate takes a TOTP code only (R10 in docs/SECURITY.md), and the service's message already says so.
  if (error.code === 'invalid_input' && form === 'disable') return 'Enter your password and a code from your app or a backup code.';
  return error.message;
}

/**
 * The form posts behind the regenerate and disable sections of /settings/security (register inside a
 * `requireSession()` context): new backup codes are shown once; turning 2FA off signs out the user's other sessions.
 */
export async function twoFactorManagementPageRoutes(app: FastifyInstance): Promise<void> {
  const { deps } = app;
  const refusable = new Set(['invalid_code', 'invalid_credentials', 'invalid_input', 'too_many_attempts', 'forbidden']);

  app.post('/settings/security/2fa/backup-codes', { config: authRateLimit(), schema: { body: RegenerateForm } }, async (request, reply) => {
    const user = request.auth!.user;
    try {
      const { backupCodes } = await regenerateBackupCodes(deps, user.id, (request.body as Static<typeof RegenerateForm>).code, request.meta);
      return renderBackupCodesPage(reply, backupCodes, deps.config.issuer, user.username, {
        title: 'Your new backup codes',
        lead: 'Your old backup codes no longer work.',
      });
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      if (error.code === 'two_factor_not_enabled') return reply.redirect('/settings/security', 303);
      if (!refusable.has(error.code)) throw error;
      if (error.extra.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.extra.retryAfterSeconds));
      return renderSecurityPage(request, reply, { formError: { form: 'regenerate', message: messageFor(error, 'regenerate') } }, error.statusCode);
    }
  });

  app.post('/settings/security/2fa/disable', { config: authRateLimit(), schema: { body: DisableForm } }, async (request, reply) => {
    const auth = request.auth!;
    const body = request.body as Static<typeof DisableForm>;
    try {
      assertMayDisableTwoFactor(deps.config, auth.user);
      await disableTwoFactor(deps, auth.user.id, { password: body.password, code: body.code }, request.meta);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      if (error.code === 'two_factor_not_enabled') return reply.redirect('/settings/security', 303);
      if (!refusable.has(error.code)) throw error;
      if (error.extra.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.extra.retryAfterSeconds));
      return renderSecurityPage(request, reply, { formError: { form: 'disable', message: messageFor(error, 'disable') } }, error.statusCode);
    }
    // Other devices signed in with the second factor lose it with this change: sign them out (OWASP ASVS 3.3.3).
    await app.services.sessions.destroyUserSessions(auth.user.id, auth.session.id);
    return reply.redirect('/settings/security?notice=two-factor-disabled', 303);
  });
}
