import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { disableTwoFactor, regenerateBackupCodes } from '../../modules/two-factor/two-factor-management.ts';
import { authRateLimit } from '../plugins/auth-rate-limit.ts';
import { CodeBody, ERROR_RESPONSES, MAX_PASSWORD_INPUT_LENGTH } from '../schemas.ts';

const DisableBody = Type.Object(
  { password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_INPUT_LENGTH }), code: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);
const BackupCodesResponse = Type.Object({ backupCodes: Type.Array(Type.String()) });
const DisableResponse = Type.Object({ twoFactor: Type.Object({ enabled: Type.Literal(false) }) });

/**
 * Step-up JSON routes for a fully signed-in user: POST /api/2fa/backup-codes/regenerate `{code}` (a TOTP code) and
 * POST /api/2fa/disable `{password, code}` (NIST SP 800-63B §6.1.2: re-authenticate before changing authenticators).
 * Register inside a `requireSession()` context.
 */
export async function twoFactorManagementApiRoutes(app: FastifyInstance): Promise<void> {
  const { deps } = app;

  app.post('/2fa/backup-codes/regenerate', {
    config: authRateLimit(),
    schema: { body: CodeBody, response: { 200: BackupCodesResponse, ...ERROR_RESPONSES } },
  }, async (request) => {
    const { backupCodes } = await regenerateBackupCodes(deps, request.auth!.user.id, (request.body as CodeBody).code, request.meta);
    return { backupCodes };
  });

  app.post('/2fa/disable', {
    config: authRateLimit(),
    schema: { body: DisableBody, response: { 200: DisableResponse, ...ERROR_RESPONSES } },
  }, async (request) => {
    const auth = request.auth!;
    const body = request.body as Static<typeof DisableBody>;
    // Refused (403) when CREW_REQUIRE_2FA covers the user; on success the user's other sessions are signed out.
    return disableTwoFactor(deps, auth.user.id, body, request.meta, { require2fa: deps.config.require2fa, role: auth.user.role, keepSessionId: auth.session.id });
  });
}
