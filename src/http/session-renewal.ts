import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IssuedSession } from '../modules/sessions/session.service.ts';
import { statusOf } from '../modules/two-factor/two-factor-status.ts';
import { setSessionCookie } from './plugins/session-cookie.ts';

/**
 * After 2FA is turned on, moves the current session to a NEW token and CSRF token (OWASP ASVS 3.2.1) and signs out every
 * other session of the user (ASVS 3.3.3), so a session opened with a leaked password alone does not outlive the change.
 * The request continues as the new session with the new 2FA status (a page rendered in this response carries both).
 * @example await enrollment.confirm(user, code); await renewSessionsAfterEnablingTwoFactor(request, reply);
 */
export async function renewSessionsAfterEnablingTwoFactor(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  // If the current session vanished meanwhile, rotateSession throws not_authenticated and every session of the user is ended.
  const auth = request.auth!;
  const { deps, services } = request.server;
  let issued: IssuedSession | undefined;
  try {
    issued = await services.sessions.rotateSession(auth.session, 'authenticated', request.meta);
    setSessionCookie(request, reply, issued);
    const twoFactor = statusOf(await services.twoFactor.findByUserId(auth.user.id), deps.clock.now().getTime());
    request.auth = { ...request.auth!, twoFactor };
  } finally {
    // Also when the rotation failed: then no session of this user may survive the change.
    await services.sessions.destroyUserSessions(auth.user.id, issued?.session.id);
  }
}
