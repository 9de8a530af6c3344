import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Config } from '../../config.ts';
import { AppError } from '../../lib/app-error.ts';
import { coveredByRequire2fa } from '../../modules/two-factor/require-two-factor.ts';
import type { SessionState } from '../../modules/sessions/session.service.ts';
import type { RequestAuth } from '../fastify-types.ts';
import { isApi } from './error-handler.ts';

/** Options of {@link requireSession}. */
export interface RequireSessionOptions {
  /** The session state the routes need; default 'authenticated'. The two-factor sign-in step uses 'pending_two_factor'. */
  state?: SessionState;
  /** Let users whom CREW_REQUIRE_2FA covers in before they enrol (security settings, 2FA set-up, /api/me). */
  allowWithoutTwoFactor?: boolean;
}

/** Whether CREW_REQUIRE_2FA obliges this user to enrol before using the app. */
export function mustEnrol(config: Pick<Config, 'require2fa'>, auth: Pick<RequestAuth, 'user' | 'twoFactor'>): boolean {
  return !auth.twoFactor.enabled && coveredByRequire2fa(config, auth.user);
}

/**
 * {@link mustEnrol}, counting a passkey as the second factor too (CREW_REQUIRE_2FA is satisfied by either). The passkeys
 * table is read only for users the policy would hold back, so everyone else pays nothing.
 */
export async function mustEnrolYet(request: FastifyRequest, auth: Pick<RequestAuth, 'user' | 'twoFactor'>): Promise<boolean> {
  if (!mustEnrol(request.server.deps.config, auth)) return false;
  return !(await request.server.services.passkeys.repository.hasAny(auth.user.id));
}

/**
 * An onRequest hook for an encapsulated plugin context: every route registered in that context needs a session in
 * `state`. Missing → 401 (pages: redirect to /login); a pending two-factor session grants nothing else; users whom
 * CREW_REQUIRE_2FA covers get 403 two_factor_required (pages: redirect to /settings/security) until they enrol.
 * @example app.register(async (scope) => { scope.addHook('onRequest', requireSession()); scope.get('/x', handler); });
 */
export function requireSession(options: RequireSessionOptions = {}): onRequestHookHandler {
  const wanted = options.state ?? 'authenticated';
  return async (request, reply) => {
    const auth = request.auth;
    if (!auth || auth.session.state !== wanted) {
      if (!isApi(request)) {
        const target = auth?.session.state === 'pending_two_factor' ? '/login/two-factor' : auth ? '/' : '/login';
        return reply.redirect(target, 303);
      }
      throw new AppError(wanted === 'pending_two_factor' ? 'two_factor_pending_expired' : 'not_authenticated');
    }
    if (wanted === 'authenticated' && !options.allowWithoutTwoFactor && (await mustEnrolYet(request, auth))) {
      if (!isApi(request)) return reply.redirect('/settings/security', 303);
      throw new AppError('two_factor_required');
    }
  };
}
