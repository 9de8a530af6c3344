import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import { authRateLimit } from '../plugins/auth-rate-limit.ts';
import { CodeBody, ERROR_RESPONSES, compactCode } from '../schemas.ts';

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
const EnableResponse = Type.Object({ backupCodes: Type.Array(Type.String()) });

/**
 * JSON routes for a signed-in user that CREW_REQUIRE_2FA still allows before enrolment: GET /api/me,
 * GET /api/2fa/status, POST /api/2fa/setup, POST /api/2fa/enable. Register inside a requireSession context.
 */
export async function accountApiRoutes(app: FastifyInstance): Promise<void> {
  const { enrollment } = app.services;

  app.get('/me', { schema: { response: { 200: MeResponse, ...ERROR_RESPONSES } } }, async (request) => {
    const { user } = request.auth!;
    const status = await enrollment.status(user.id);
    return {
      user: { id: user.id, username: user.username, email: user.email, role: user.role },
      twoFactor: { enabled: status.enabled, backupCodesRemaining: status.backupCodesRemaining },
    };
  });

  app.get('/2fa/status', { schema: { response: { 200: StatusResponse, ...ERROR_RESPONSES } } }, async (request) => {
    const status = await enrollment.status(request.auth!.user.id);
    return { ...status, createdAt: status.createdAt?.toISOString() ?? null };
  });

  // Creates or replaces a not-yet-enabled secret; 409 once 2FA is enabled (disable first).
  app.post('/2fa/setup', {
    config: authRateLimit(app.deps.config),
    schema: { response: { 200: SetupResponse, ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    const details = await enrollment.begin(request.auth!.user, request.meta);
    reply.header('cache-control', 'no-store');
    return { secret: details.secret, otpauthUri: details.otpauthUri, qrSvg: details.qrSvg };
  });

  app.post('/2fa/enable', {
    config: authRateLimit(app.deps.config),
    schema: { body: CodeBody, response: { 200: EnableResponse, ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    const code = compactCode((request.body as CodeBody).code);
    if (!/^\d{6}$/.test(code)) throw new AppError('invalid_code', 'Enter the 6-digit code from your authenticator app.');
    const backupCodes = await enrollment.confirm(request.auth!.user, code, request.meta);
    reply.header('cache-control', 'no-store');
    return { backupCodes };
  });
}
