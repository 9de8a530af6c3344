import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IssuedSession } from '../modules/sessions/session.service.ts';
import { setSessionCookie } from './plugins/session-cookie.ts';

/**
 * After 2FA is turned on, moves the current session to a NEW token and CSRF token (OWASP ASVS 3.2.1) and signs out every
 * other session of the user (ASVS 3.3.3), so a session opened with a leaked password alone does not outlive the change.
 * @example await enrollment.confirm(user, code); await renewSessionsAfterEnablingTwoFactor(request, reply);
 */
export async function renewSessionsAfterEnablingTwoFactor(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  // The request continues as the new session, so a page rendered in this response carries the new CSRF token. If the
  // current session vanished meanwhile, rotateSession throws not_authenticated and every session of the user is ended.
  const auth = request.auth!;
  const { sessions } = request.server.services;
  let issued: IssuedSession | undefined;
  try {
    issued = await sessions.rotateSession(auth.session, 'authenticated', request.meta);
    setSessionCookie(request, reply, issued);
    request.auth = { ...request.auth!, twoFactorEnabled: true };
  } finally {
    // Also when the rotation failed: then no session of this user may survive the change.
    await sessions.destroyUserSessions(auth.user.id, issued?.session.id);
  }
}
