import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import { listRememberedDevices, revokeRememberedDevice } from '../../modules/remembered-devices/remembered-devices.ts';
import { completePasskeySecondFactor, signInWithPasskey } from '../../modules/sessions/passkey-sign-in.ts';
import { CHALLENGE_LIFETIME_MS } from '../../modules/passkeys/challenges.ts';
import { reauthenticate } from '../../modules/account/reauthenticate.ts';
import { MAX_PASSKEY_NAME_LENGTH } from '../../modules/passkeys/passkey.repository.ts';
import { bindingOf } from '../../modules/passkeys/passkey.service.ts';
import { rememberThisDevice } from '../remembered-device-cookie.ts';
import { renewSessionsAfterEnablingTwoFactor } from '../session-renewal.ts';
import { authRateLimit } from '../plugins/auth-rate-limit.ts';
import { clearSessionCookie, cookieIsSecure, setSessionCookie } from '../plugins/session-cookie.ts';
import { ERROR_RESPONSES, MAX_PASSWORD_INPUT_LENGTH, PublicUser } from '../schemas.ts';

/** The cookie that binds a passwordless sign-in's challenge to the browser that asked for it (no session exists yet). */
export const PASSKEY_CEREMONY_COOKIE = 'crew_passkey';

const Base64Url = Type.String({ maxLength: 8192, pattern: '^[A-Za-z0-9_-]*={0,2}$' });
const CredentialId = Type.String({ minLength: 1, maxLength: 1024, pattern: '^[A-Za-z0-9_-]+={0,2}$' });
const Extensions = Type.Optional(Type.Object({}, { additionalProperties: true }));
const Attachment = Type.Optional(Type.String({ maxLength: 32 }));

/** A PublicKeyCredential (assertion) as @simplewebauthn/browser's startAuthentication returns it. */
export const AssertionBody = Type.Object(
  {
    id: CredentialId,
    rawId: CredentialId,
    type: Type.Literal('public-key'),
    response: Type.Object(
      { clientDataJSON: Base64Url, authenticatorData: Base64Url, signature: Base64Url, userHandle: Type.Optional(Base64Url) },
      { additionalProperties: false },
    ),
    clientExtensionResults: Extensions,
    authenticatorAttachment: Attachment,
    /** Second factor only: remember this device for 30 days. */
    rememberDevice: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** A PublicKeyCredential (attestation) as startRegistration returns it, plus the name the user gave the passkey. */
const RegistrationBody = Type.Object(
  {
    id: CredentialId,
    rawId: CredentialId,
    type: Type.Literal('public-key'),
    response: Type.Object(
      {
        clientDataJSON: Base64Url,
        attestationObject: Base64Url,
        authenticatorData: Type.Optional(Base64Url),
        transports: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 10 })),
        publicKeyAlgorithm: Type.Optional(Type.Integer()),
        publicKey: Type.Optional(Base64Url),
      },
      { additionalProperties: false },
    ),
    clientExtensionResults: Extensions,
    authenticatorAttachment: Attachment,
    name: Type.Optional(Type.String({ maxLength: MAX_PASSKEY_NAME_LENGTH })),
  },
  { additionalProperties: false },
);

const PasswordBody = Type.Object({ password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_INPUT_LENGTH }) }, { additionalProperties: false });
const NameBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: MAX_PASSKEY_NAME_LENGTH }) }, { additionalProperties: false });
const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,12}$' }) });
const Options = Type.Unknown();
const PasskeyView = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  createdAt: Type.String(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  backedUp: Type.Boolean(),
});
const SignedIn = Type.Object({ status: Type.Literal('authenticated'), user: PublicUser });

/**
 * Managing one's passkeys: POST /api/passkeys/registration/options `{password}` (re-authentication) → WebAuthn creation
 * options; POST /api/passkeys/registration (the credential + `name`) → 200 the passkey; GET /api/passkeys; PATCH and
 * DELETE /api/passkeys/:id. Register inside requireSession({ allowWithoutTwoFactor: true }): adding a passkey is how a
 * user whom CREW_REQUIRE_2FA covers may enrol.
 */
export const passkeyManagementApiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { passkeys } = app.services;

  app.post('/passkeys/registration/options', {
    config: authRateLimit(),
    schema: { body: PasswordBody, response: { 200: Options, ...ERROR_RESPONSES } },
  }, async (request) => {
    const { user, session } = request.auth!;
    // Re-authentication before adding an authenticator, counted by the account's password throttle like a sign-in.
    await reauthenticate(app.services, user.id, request.body.password, request.meta);
    return passkeys.registrationOptions(user, session.id);
  });

  app.post('/passkeys/registration', {
    config: authRateLimit(),
    schema: { body: RegistrationBody, response: { 200: PasskeyView, ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    const { user, session, twoFactor } = request.auth!;
    const { name, ...credential } = request.body;
    const firstSecondFactor = !twoFactor.enabled && !(await passkeys.repository.hasAny(user.id));
    const passkey = await passkeys.completeRegistration(user, session.id, credential as RegistrationResponseJSON, name, request.meta);
    if (!passkey) throw new AppError('passkey_not_added');
    // The first second factor of the account, as when TOTP is turned on: a new token for this session, and sessions
    // opened with the password alone are signed out (OWASP ASVS 3.2.1, 3.3.3).
    if (firstSecondFactor) await renewSessionsAfterEnablingTwoFactor(request, reply);
    const view = (await passkeys.list(user.id)).find((p) => p.id === passkey.id)!;
    return view; // 200, as the contract says
  });

  app.get('/passkeys', { schema: { response: { 200: Type.Object({ passkeys: Type.Array(PasskeyView) }), ...ERROR_RESPONSES } } }, async (request) => ({
    passkeys: await passkeys.list(request.auth!.user.id),
  }));

  app.patch('/passkeys/:id', { schema: { params: IdParams, body: NameBody, response: { 204: Type.Null(), ...ERROR_RESPONSES } } }, async (request, reply) => {
    if (!(await passkeys.rename(request.auth!.user.id, Number(request.params.id), request.body.name, request.meta))) throw new AppError('not_found');
    return reply.code(204).send(null);
  });

  app.delete('/passkeys/:id', { schema: { params: IdParams, response: { 204: Type.Null(), ...ERROR_RESPONSES } } }, async (request, reply) => {
    // Another user's passkey id answers 404 like a missing one: nothing is removed and nothing is told.
    if (!(await passkeys.remove(request.auth!.user.id, Number(request.params.id), request.meta))) throw new AppError('not_found');
    return reply.code(204).send(null);
  });
};

/** Reads the ceremony cookie (a 43-character base64url token) or null. */
function ceremonyToken(request: FastifyRequest): string | null {
  const value = request.cookies[PASSKEY_CEREMONY_COOKIE];
  return typeof value === 'string' && /^[A-Za-z0-9_-]{43}$/.test(value) ? value : null;
}

function clearCeremonyCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(PASSKEY_CEREMONY_COOKIE, { httpOnly: true, sameSite: 'strict', secure: cookieIsSecure(request.server.deps.config, request), path: '/api/auth/passkey' });
}

/**
 * Passwordless sign-in: POST /api/auth/passkey/options → options (a fresh challenge bound to a new HttpOnly ceremony
 * cookie, 5 minutes); POST /api/auth/passkey (the assertion) → 200 `{status:"authenticated", user}` with a new session.
 * Public routes (inside /api).
 */
export const passkeySignInApiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { passkeys } = app.services;

  app.post('/auth/passkey/options', { config: authRateLimit(), schema: { response: { 200: Options, ...ERROR_RESPONSES } } }, async (request, reply) => {
    const token = app.deps.random.bytes(32).toString('base64url');
    reply.setCookie(PASSKEY_CEREMONY_COOKIE, token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: cookieIsSecure(app.deps.config, request),
      path: '/api/auth/passkey',
      maxAge: CHALLENGE_LIFETIME_MS / 1000,
    });
    return passkeys.authenticationOptions('sign_in', bindingOf(token), null);
  });

  app.post('/auth/passkey', { config: authRateLimit(), schema: { body: AssertionBody, response: { 200: SignedIn, ...ERROR_RESPONSES } } }, async (request, reply) => {
    const token = ceremonyToken(request);
    clearCeremonyCookie(request, reply);
    if (!token) throw new AppError('passkey_refused');
    const { rememberDevice: _ignored, ...assertion } = request.body;
    const result = await signInWithPasskey({ ...app.deps, ...app.services }, bindingOf(token), assertion as AuthenticationResponseJSON, {
      previousSessionId: request.auth?.session.id,
      meta: request.meta,
    });
    if (!result.ok) throw new AppError('passkey_refused');
    setSessionCookie(request, reply, result.issued);
    return { status: 'authenticated' as const, user: { id: result.user.id, username: result.user.username } };
  });
};

/**
 * The code step with a passkey: POST /api/auth/login/two-factor/passkey/options → options listing the pending user's
 * passkeys (challenge bound to the pending sign-in); POST /api/auth/login/two-factor/passkey (the assertion) → 200
 * `{status:"authenticated", user}`. Register inside requireSession({ state: 'pending_two_factor' }).
 */
export const passkeySecondFactorApiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { passkeys } = app.services;

  app.post('/auth/login/two-factor/passkey/options', {
    config: authRateLimit({ keepUnknownSessionCookie: true }),
    schema: { response: { 200: Options, ...ERROR_RESPONSES } },
  }, async (request) => {
    const { session, user } = request.auth!;
    return passkeys.authenticationOptions('second_factor', session.id, user.id);
  });

  app.post('/auth/login/two-factor/passkey', {
    config: authRateLimit({ keepUnknownSessionCookie: true }),
    schema: { body: AssertionBody, response: { 200: SignedIn, ...ERROR_RESPONSES } },
  }, async (request, reply) => {
    const auth = request.auth!;
    const { rememberDevice, ...assertion } = request.body;
    const result = await completePasskeySecondFactor({ ...app.deps, ...app.services }, auth.session, assertion as AuthenticationResponseJSON, request.meta);
    if (!result.ok) {
      if (result.pendingSignIn === 'ended') clearSessionCookie(request, reply);
      if (result.pendingSignIn !== 'kept') request.auth = null;
      throw new AppError(result.reason === 'pending_sign_in_ended' ? 'two_factor_pending_expired' : 'passkey_refused');
    }
    setSessionCookie(request, reply, result.issued);
    if (rememberDevice === true) await rememberThisDevice(request, reply, auth.user.id);
    return { status: 'authenticated' as const, user: { id: auth.user.id, username: auth.user.username } };
  });
};

const DeviceView = Type.Object({
  id: Type.Integer(),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  lastUsedAt: Type.String(),
  expiresAt: Type.String(),
});

/**
 * GET /api/remembered-devices → `{devices:[…]}` (never a token or its hash); DELETE /api/remembered-devices/:id → 204
 * (404 for another user's). Register inside a requireSession context.
 */
export const rememberedDeviceApiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/remembered-devices', { schema: { response: { 200: Type.Object({ devices: Type.Array(DeviceView) }), ...ERROR_RESPONSES } } }, async (request) => ({
    devices: (await listRememberedDevices(app.deps, request.auth!.user.id)).map((d) => ({
      id: d.id,
      userAgent: d.userAgent,
      ip: d.ip,
      createdAt: d.createdAt.toISOString(),
      lastUsedAt: d.lastUsedAt.toISOString(),
      expiresAt: d.expiresAt.toISOString(),
    })),
  }));

  app.delete('/remembered-devices/:id', { schema: { params: IdParams, response: { 204: Type.Null(), ...ERROR_RESPONSES } } }, async (request, reply) => {
    if (!(await revokeRememberedDevice(app.deps, request.auth!.user.id, Number(request.params.id), request.meta))) throw new AppError('not_found');
    return reply.code(204).send(null);
  });
};
