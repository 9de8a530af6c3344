import type { AppDeps } from '../deps.ts';
import type { RequestMeta } from '../modules/audit/security-events.ts';
import type { Session } from '../modules/sessions/session.service.ts';
import type { TwoFactorStatus } from '../modules/two-factor/two-factor-status.ts';
import type { User } from '../modules/users/users.repository.ts';
import type { HttpServices } from './services.ts';

/** Who is making the request, loaded from the session cookie by the session-loader plugin. */
export interface RequestAuth {
  session: Session;
  user: User;
  /** The user's 2FA status ({@link statusOf}) as loaded with the session, kept current by the request; never the secret. */
  twoFactor: TwoFactorStatus;
}

/** How a route's HTML form is protected against CSRF: the session's synchronizer token, or the signed pre-sign-in cookie. */
export type CsrfMode = 'session' | 'anonymous';

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppDeps;
    services: HttpServices;
  }
  interface FastifyRequest {
    /** The live session and its user, or null (any state: check `session.state`, or use requireSession). */
    auth: RequestAuth | null;
    /** IP and User-Agent for audit rows. */
    readonly meta: RequestMeta;
  }
  interface FastifyReply {
    /** Renders `views/<template>.eta` inside the layout as text/html, adding the user and the form's CSRF token. */
    page(template: string, data?: Record<string, unknown>, statusCode?: number): Promise<FastifyReply>;
  }
  interface FastifyContextConfig {
    /** CSRF protection of a form route (POST): 'session' (default on pages) or 'anonymous' (pre-sign-in forms). */
    csrf?: CsrfMode;
    /**
     * Do not clear a session cookie that names no live session: set on the code step, where the pending session may have
     * just been upgraded by a concurrent request whose NEW cookie the browser now holds.
     */
    keepUnknownSessionCookie?: boolean;
  }
}
