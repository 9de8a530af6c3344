import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AppError } from '../../lib/app-error.ts';
import { registerAndSignIn, signInWithPassword, signOut } from '../../modules/sessions/password-sign-in.ts';
import { formatWait } from '../format-wait.ts';
import { rememberedDeviceToken } from '../remembered-device-cookie.ts';
import { authRateLimit } from '../plugins/auth-rate-limit.ts';
import { setRetryAfter } from '../plugins/error-handler.ts';
import { clearSessionCookie, setSessionCookie } from '../plugins/session-cookie.ts';
import { CsrfForm, Field, MAX_PASSWORD_INPUT_LENGTH, NoticeQuery } from '../schemas.ts';

// Form fields are bounded, not required (schemas.ts Field): the handlers explain empty fields to people.
const LoginForm = Type.Object({ username: Field(200), password: Field(MAX_PASSWORD_INPUT_LENGTH), _csrf: Field(200) });
const RegisterForm = Type.Object({ username: Field(200), email: Type.Optional(Field(254)), password: Field(MAX_PASSWORD_INPUT_LENGTH), _csrf: Field(200) });
// `/login?notice=…` after a redirect (NoticeQuery): why the user is back at the password form. Unknown values show nothing.
const LOGIN_NOTICES: Record<string, string> = {
  'sign-in-expired': new AppError('two_factor_pending_expired').message, // a pending two-factor sign-in ended
  'signed-out': 'You have signed out.',
  'sign-in-cancelled': 'Sign-in cancelled.',
};

/** The scripts behind "Sign in with a passkey": the pinned @simplewebauthn/browser bundle, then ours (both from /static). */
export const PASSKEY_SCRIPTS = ['/static/simplewebauthn-browser.js', '/static/passkeys.js'];

/** HTML sign-in pages: GET/POST /login, GET/POST /register (pre-sign-in CSRF cookie) and POST /logout. */
export const authPageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app.deps;
  const anonymous = { csrf: 'anonymous' as const };

  app.get('/login', { config: anonymous, schema: { querystring: NoticeQuery } }, async (request, reply) => {
    if (request.auth?.session.state === 'authenticated') return reply.redirect('/', 303);
    const key = request.query.notice ?? '';
    const notice = Object.hasOwn(LOGIN_NOTICES, key) ? LOGIN_NOTICES[key] : null;
    return reply.page('login', { title: 'Sign in', username: '', notice, registrationOpen: config.registration === 'open', scripts: PASSKEY_SCRIPTS });
  });

  app.post('/login', { config: authRateLimit(anonymous), schema: { body: LoginForm } }, async (request, reply) => {
    const { body } = request;
    let result;
    try {
      result =
        body.username.trim() && body.password
          ? await signInWithPassword({ ...app.deps, ...app.services }, body, { previousSessionId: request.auth?.session.id, meta: request.meta, rememberedDeviceToken: rememberedDeviceToken(request) })
          : null;
    } catch (error) {
      // The account's password throttle (NIST SP 800-63B §5.2.2): the form again, with the wait, 429 and Retry-After.
      if (!(error instanceof AppError) || error.code !== 'too_many_attempts') throw error;
      const wait = formatWait(setRetryAfter(reply, error) ?? 1);
      const message = `Too many wrong passwords for this account. Try again in ${wait}; until then even the right password is refused.`;
      return reply.page('login', { title: 'Sign in', username: body.username, error: message, errorField: 'password', registrationOpen: config.registration === 'open' }, 429);
    }
    if (!result) {
      // Focus goes to what to type next: the username if it is empty, else the password (the username is kept).
      const errorField = body.username.trim() ? 'password' : 'username';
      const error = new AppError('invalid_credentials').message;
      return reply.page('login', { title: 'Sign in', username: body.username, error, errorField, registrationOpen: config.registration === 'open', scripts: PASSKEY_SCRIPTS }, 401);
    }
    setSessionCookie(request, reply, result.issued);
    return reply.redirect(result.status === 'two_factor_required' ? '/login/two-factor' : '/', 303);
  });

  app.get('/register', { config: anonymous }, async (request, reply) => {
    if (request.auth?.session.state === 'authenticated') return reply.redirect('/', 303);
    if (config.registration === 'closed') throw new AppError('registration_closed');
    return reply.page('register', { title: 'Create an account', username: '', email: '' });
  });

  app.post('/register', { config: authRateLimit(anonymous), schema: { body: RegisterForm } }, async (request, reply) => {
    if (config.registration === 'closed') throw new AppError('registration_closed');
    const { body } = request;
    try {
      const input = { username: body.username, password: body.password, email: body.email ?? null };
      const { issued } = await registerAndSignIn(app.services, input, { previousSessionId: request.auth?.session.id, meta: request.meta });
      setSessionCookie(request, reply, issued);
      return reply.redirect('/', 303);
    } catch (error) {
      if (!(error instanceof AppError) || (error.code !== 'invalid_input' && error.code !== 'username_taken')) throw error;
      const field = error.code === 'username_taken' ? 'username' : ((error.extra.details as { field?: string } | undefined)?.field ?? 'username');
      return reply.page('register', { title: 'Create an account', username: body.username, email: body.email ?? '', error: error.message, errorField: field }, error.statusCode);
    }
  });

  app.post('/logout', { schema: { body: CsrfForm } }, async (request, reply) => {
    const auth = request.auth!;
    await signOut({ ...app.deps, ...app.services }, { sessionId: auth.session.id, userId: auth.user.id }, request.meta);
    clearSessionCookie(request, reply);
    // A confirmation on the sign-in page: signing out (or cancelling a half-done sign-in) did happen.
    return reply.redirect(auth.session.state === 'pending_two_factor' ? '/login?notice=sign-in-cancelled' : '/login?notice=signed-out', 303);
  });
};
