import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { reauthenticate } from '../../modules/account/reauthenticate.ts';
import { authRateLimit } from '../plugins/auth-rate-limit.ts';
import { ERROR_RESPONSES, MAX_PASSWORD_INPUT_LENGTH, OneTimeCodeBody } from '../schemas.ts';
import { renewSessionsAfterEnablingTwoFactor } from '../session-renewal.ts';

const MeResponse = Type.Object({
  user: Type.Object({ id: Type.Integer(), username: Type.String(), email: Type.Union([Type.String(), Type.Null()]), role: Type.String() }),
  twoFactor: Type.Object({ enabled: Type.Boolean(), backupCodesRemaining: Type.Integer() }),
});
const StatusResponse = Type.Object({
  enabled: Type.Boolean(),
  createdAt: Type.Union([Type.String(), Type.Null()]),
  backupCodesRemaining: Type.Integer(),
});
const SetupResponse = Type.Object({ secret: Type.String(), otpauthUri: Type.String(), qrSvg: Type.String() });
// Optional in the schema so a missing password is the contract's 401 invalid_credentials, not a 400.
const SetupBody = Type.Object({ password: Type.Optional(Type.String({ maxLength: MAX_PASSWORD_INPUT_LENGTH })) }, { additionalProperties: false });
const EnableResponse = Type.Object({ backupCodes: Type.Array(Type.String()) });

/**
 * JSON routes for a signed-in user that CREW_REQUIRE_2FA still allows before enrolment: GET /api/me,
 * GET /api/2fa/status, POST /api/2fa/setup, POST /api/2fa/enable. Register inside a requireSession context.
 */
export const accountApiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { enrollment } = app.services;

  app.get('/me', { schema: { response: { 200: MeResponse, ...ERROR_RESPONSES } } }, async (request) => {
    const { user, twoFactor: status } = request.auth!;
    return {
      user: { id: user.id, username: user.username, email: user.email, role: user.role },
      twoFactor: { enabled: status.enabled, backupCodesRemaining: status.backupCodesRemaining },
    };
  });

  app.get('/2fa/status', { schema: { response: { 200: StatusResponse, ...ERROR_RESPONSES } } }, async (request) => {
    const status = request.auth!.twoFactor;
    return { enabled: status.enabled, createdAt: status.createdAt?.toISOString() ?? null, backupCodesRemaining: status.backupCodesRemaining };
  });

  // Creates or replaces a not-yet-enabled secret; 409 once 2FA is enabled (disable first). Re-authentication first (issue 8
  // finding 1): a stolen session cookie alone must not bind the attacker's authenticator and lock the owner out.
  app.post('/2fa/setup', {
    config: authRateLimit(),
    // No body at all is a missing password too (401, not 400).
    preValidation: async (request) => {
      request.body ??= {};
    },
    schema: { body: SetupBody, response: { 200: SetupResponse, ...ERROR_RESPONSES } },
  }, async (request) => {
    await reauthenticate(app.services, request.auth!.user.id, request.body?.password, request.meta);
    const details = await enrollment.begin(request.auth!.user, request.meta);
    return { secret: details.secret, otpauthUri: details.otpauthUri, qrSvg: details.qrSvg };
  });

  app.post('/2fa/enable', {
    config: authRateLimit(),
    schema: { body: OneTimeCodeBody, response: { 200: EnableResponse, ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    // A set-up older than 10 minutes is refused (409 two_factor_not_set_up): start again with the password.
    // Not 6 digits → 400 invalid_input; a well-formed wrong code → 401 invalid_code (as on every other code route).
    const backupCodes = await enrollment.confirm(request.auth!.user, request.body.code, request.meta);
    // New token for the new privilege, and sessions opened with the password alone are signed out (ASVS 3.2.1, 3.3.3).
    await renewSessionsAfterEnablingTwoFactor(request, reply);
    return { backupCodes };
  });
};
