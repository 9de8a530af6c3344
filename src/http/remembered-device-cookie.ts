import type { FastifyReply, FastifyRequest } from 'fastify';
import { rememberDevice } from '../modules/remembered-devices/remembered-devices.ts';
import { cookieIsSecure } from './plugins/session-cookie.ts';

/** The remembered-device cookie: separate from the session, so signing out does not forget the device. */
export const REMEMBERED_DEVICE_COOKIE = 'crew_device';

/** The remembered-device token the browser sent, if any (checked against the database only at the password step). */
export function rememberedDeviceToken(request: FastifyRequest): string | undefined {
  return request.cookies[REMEMBERED_DEVICE_COOKIE];
}

/**
 * After a full two-factor sign-in with "Remember this device for 30 days": stores the device for the user and sets the
 * HttpOnly, SameSite=Lax cookie until its expiry (OWASP ASVS 3.4.1–3.4.3). Replaces any device cookie of another user.
 */
export async function rememberThisDevice(request: FastifyRequest, reply: FastifyReply, userId: number): Promise<void> {
  const { deps } = request.server;
  const { token, expiresAt } = await rememberDevice(deps, userId, request.meta);
  reply.setCookie(REMEMBERED_DEVICE_COOKIE, token, {
    httpOnly: true,
    sameSite: 'lax',
    secure: cookieIsSecure(deps.config, request),
    path: '/',
    maxAge: Math.floor((expiresAt.getTime() - deps.clock.now().getTime()) / 1000),
  });
}
