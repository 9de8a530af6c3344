import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import { retryAfterSeconds } from '../../modules/two-factor/account-lockout.ts';
import { formatUtc, formatWait } from '../format-wait.ts';
import { authRateLimit } from '../plugins/auth-rate-limit.ts';
import { setRetryAfter } from '../plugins/error-handler.ts';
import { rememberThisDevice } from '../remembered-device-cookie.ts';
import { Field, OneTimeCodeForm } from '../schemas.ts';
import { completeTwoFactorSignIn } from '../two-factor-sign-in.ts';

// Browsers send the field even when empty, so the handler (not the schema OneTimeCodeForm) explains an empty code.

/**
 * `?method=backup` shows a text field for a backup code instead of the numeric field for the app's code: a plain link
 * switches, so it works without JavaScript. Either field accepts either kind of code; this only picks the keyboard.
 */
const MethodQuery = Type.Object({ method: Type.Optional(Type.Union([Type.Literal('app'), Type.Literal('backup')])) });
type Method = NonNullable<Static<typeof MethodQuery>['method']>;

/** The code form: a code, the CSRF token and the "Remember this device for 30 days" checkbox (sent as "1" when ticked). */
const CodeStepForm = Type.Composite([OneTimeCodeForm, Type.Object({ rememberDevice: Type.Optional(Field(8)) })]);

/** Where a refused second step sends the browser: the password form, with a notice saying why. */
export const SIGN_IN_AGAIN_URL = '/login?notice=sign-in-expired';

/** Renders the code form (app code or backup code), its error, or (during an account lockout) the lockout message with the wait. */
async function renderTwoFactorPage(
  reply: FastifyReply,
  now: Date,
  options: { method?: Method | undefined; error?: string; lockedForSeconds?: number },
  statusCode = 200,
): Promise<FastifyReply> {
  const locked = options.lockedForSeconds ?? 0;
  const auth = reply.request.auth;
  // A user may have TOTP, passkeys or both: the page offers what the account has ("Use a passkey" needs a passkey).
  const hasPasskeys = auth ? await reply.request.server.services.passkeys.repository.hasAny(auth.user.id) : false;
  return reply.page('login-two-factor', {
    title: 'Two-factor authentication',
    totpEnabled: auth?.twoFactor.enabled ?? true,
    hasPasskeys,
    scripts: hasPasskeys ? ['/static/simplewebauthn-browser.js', '/static/passkeys.js'] : [],
    showsError: locked > 0,
    method: options.method ?? 'app',
    error: options.error ?? null,
    lockedForSeconds: locked,
    lockedWait: locked ? formatWait(locked) : '',
    lockedUntil: locked ? formatUtc(new Date(now.getTime() + locked * 1000)) : '',
  }, statusCode);
}

/**
 * GET/POST /login/two-factor: the second sign-in step as a form, for a pending sign-in only (register inside a
 * `requireSession({ state: 'pending_two_factor' })` context). A TOTP code signs in and goes home; a backup code goes
 * home with a notice (and the home page warns when few are left).
 */
export const twoFactorSignInPageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { deps } = app;

  app.get('/login/two-factor', { schema: { querystring: MethodQuery } }, async (request, reply) => {
    // Shown only after the right password, so telling about a lockout reveals nothing to a password guesser.
    const { lockedUntil } = request.auth!.twoFactor;
    const now = deps.clock.now();
    const lockedForSeconds = lockedUntil && lockedUntil.getTime() > now.getTime() ? retryAfterSeconds(lockedUntil.getTime(), now.getTime()) : 0;
    return renderTwoFactorPage(reply, now, { lockedForSeconds, method: request.query.method });
  });

  app.post('/login/two-factor', { config: authRateLimit({ keepUnknownSessionCookie: true }), schema: { body: CodeStepForm, querystring: MethodQuery } }, async (request, reply) => {
    const { code } = request.body;
    const { method } = request.query;
    const now = deps.clock.now();
    if (!code.trim()) {
      const error = method === 'backup' ? 'Enter one of your backup codes.' : 'Enter the 6-digit code from your authenticator app.';
      return renderTwoFactorPage(reply, now, { method, error }, 400);
    }
    try {
      const done = await completeTwoFactorSignIn(request, reply, code);
      if (request.body.rememberDevice === '1') await rememberThisDevice(request, reply, done.user.id);
      return reply.redirect(done.method === 'backup_code' ? '/?notice=backup-code' : '/', 303);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      if (error.code === 'two_factor_pending_expired') return reply.redirect(SIGN_IN_AGAIN_URL, 303);
      if (error.code === 'too_many_attempts') {
        const wait = setRetryAfter(reply, error) ?? 1;
        return renderTwoFactorPage(reply, now, { lockedForSeconds: wait }, 429);
      }
      if (error.code === 'invalid_code' || error.code === 'invalid_input') return renderTwoFactorPage(reply, now, { method, error: error.message }, error.statusCode);
      throw error;
    }
  });
};
