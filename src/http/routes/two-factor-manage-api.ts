import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { disableTwoFactor, regenerateBackupCodes } from '../../modules/two-factor/two-factor-management.ts';
import { authRateLimit } from '../plugins/auth-rate-limit.ts';
import { secondFactorFailureToAppError } from '../second-factor-errors.ts';
import { ERROR_RESPONSES, MAX_PASSWORD_INPUT_LENGTH, OneTimeCode, OneTimeCodeBody } from '../schemas.ts';

const DisableBody = Type.Object(
  { password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_INPUT_LENGTH }), code: OneTimeCode },
  { additionalProperties: false },
);
const BackupCodesResponse = Type.Object({ backupCodes: Type.Array(Type.String()) });
const DisableResponse = Type.Object({ twoFactor: Type.Object({ enabled: Type.Literal(false) }) });

/**
 * Step-up JSON routes for a fully signed-in user: POST /api/2fa/backup-codes/regenerate `{code}` (a TOTP code) and
 * POST /api/2fa/disable `{password, code}` (NIST SP 800-63B §6.1.2: re-authenticate before changing authenticators).
 * Register inside a `requireSession()` context.
 */
export const twoFactorManagementApiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { deps } = app;

  app.post('/2fa/backup-codes/regenerate', {
    config: authRateLimit(),
    schema: { body: OneTimeCodeBody, response: { 200: BackupCodesResponse, ...ERROR_RESPONSES } },
  }, async (request) => {
    const result = await regenerateBackupCodes({ ...deps, ...app.services }, request.auth!.user.id, request.body.code, request.meta);
    if (!result.ok) throw secondFactorFailureToAppError(result, { acceptBackupCode: false });
    return { backupCodes: result.backupCodes };
  });

  app.post('/2fa/disable', {
    config: authRateLimit(),
    schema: { body: DisableBody, response: { 200: DisableResponse, ...ERROR_RESPONSES } },
  }, async (request) => {
    const auth = request.auth!;
    // Refused (403) when CREW_REQUIRE_2FA covers the user; on success the user's other sessions are signed out.
    const options = { require2fa: deps.config.require2fa, role: auth.user.role, keepSessionId: auth.session.id };
    const result = await disableTwoFactor({ ...deps, ...app.services }, auth.user.id, request.body, request.meta, options);
    if (!result.ok) throw secondFactorFailureToAppError(result);
    return { twoFactor: result.twoFactor };
  });
};
