// Passkeys (WebAuthn Level 3) with @simplewebauthn/server: registration, passwordless sign-in with a discoverable
// credential and user verification (both factors, NIST SP 800-63B §5.1.9 multi-factor cryptographic authenticator),
// and the passkey as the second factor after the password (§5.1.8 single-factor cryptographic authenticator, AAL2
// together with the password). Every challenge is single-use, bound and short-lived (challenges.ts); every signature
// counter moves forward by compare-and-swap (passkey.repository.ts).
import { createHash } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Config } from '../../config.ts';
import type { AppDb } from '../../db/database.ts';
import type { Clock } from '../../lib/clock.ts';
import { recordSecurityEvent, type RequestMeta } from '../audit/security-events.ts';
import { CHALLENGE_LIFETIME_MS, consumeChallenge, storeChallenge, type ChallengePurpose } from './challenges.ts';
import { MAX_PASSKEY_NAME_LENGTH, PasskeyRepository, type Passkey } from './passkey.repository.ts';

// @simplewebauthn/server and its CBOR/ASN.1 dependencies add ~25 MiB to the resident memory of every process that
// imports them, and most servers see no passkey request for long stretches: loaded on the first passkey operation.
let webAuthnLibrary: Promise<typeof import('@simplewebauthn/server')> | undefined;
const webAuthn = () => (webAuthnLibrary ??= import('@simplewebauthn/server'));

/** What {@link PasskeyService} needs. */
export interface PasskeyServiceDeps {
  db: AppDb;
  clock: Clock;
  config: Pick<Config, 'rpId' | 'origin' | 'issuer'>;
}

/** Why an assertion was refused (never thrown; the HTTP layer answers 401 for each, with one message). */
export type AssertionRefusal =
  /** No live challenge: never issued, used already, expired (5 min), or issued to another session. */
  | 'challenge'
  /** The credential is not registered here (or was removed). */
  | 'unknown_credential'
  /** The credential (or its user handle) belongs to another user than the one signing in. */
  | 'wrong_user'
  /** The signature, origin, RP id, flags or user verification did not verify. */
  | 'invalid'
  /** The signature counter did not increase: a cloned authenticator (WebAuthn §6.1.1), or a concurrent use won. */
  | 'cloned';

/** Outcome of verifying an assertion. */
export type AssertionResult = { ok: true; passkey: Passkey } | { ok: false; reason: AssertionRefusal };

/** A passkey as listed to its owner (no key material). */
export interface PasskeySummary {
  id: number;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  backedUp: boolean;
}

/** The user handle WebAuthn stores with a discoverable credential: the user id, no name or e-mail (WebAuthn §14.6.1). */
export function userHandleFor(userId: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(`crew-user:${userId}`, 'utf8'));
}

/** The user id in a base64url user handle, or null when it is not one of ours. */
export function userIdFromHandle(handle: string | undefined): number | null {
  if (!handle) return null;
  const match = /^crew-user:(\d{1,15})$/.exec(Buffer.from(handle, 'base64url').toString('utf8'));
  return match ? Number(match[1]) : null;
}

/** SHA-256 (hex) of a token: what binds a challenge to a ceremony cookie without storing the cookie. */
export function bindingOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The challenge a browser signed, read from clientDataJSON (base64url); null when the JSON is not a WebAuthn client data. */
export function challengeOf(clientDataJSON: unknown): string | null {
  if (typeof clientDataJSON !== 'string' || clientDataJSON.length > 4096) return null;
  try {
    const parsed = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof parsed.challenge === 'string' && parsed.challenge.length <= 200 ? parsed.challenge : null;
  } catch {
    return null;
  }
}

/** A passkey name as stored: trimmed, control characters dropped, at most MAX_PASSKEY_NAME_LENGTH; a default when empty. */
export function cleanPasskeyName(name: unknown, fallback = 'Passkey'): string {
  const text = typeof name === 'string' ? name.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, MAX_PASSKEY_NAME_LENGTH) : '';
  return text || fallback;
}

/**
 * Passkey ceremonies and management for one app instance.
 * @example const options = await passkeys.registrationOptions(user, session.id);
 */
export class PasskeyService {
  readonly repository: PasskeyRepository;
  readonly #deps: PasskeyServiceDeps;

  constructor(deps: PasskeyServiceDeps) {
    this.#deps = deps;
    this.repository = new PasskeyRepository(deps.db);
  }

  /** Registration options for a signed-in user: a discoverable credential with user verification preferred. */
  async registrationOptions(user: { id: number; username: string }, binding: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const { config } = this.#deps;
    const existing = await this.repository.listForUser(user.id);
    const options = await (await webAuthn()).generateRegistrationOptions({
      rpName: config.issuer,
      rpID: config.rpId,
      userName: user.username,
      userID: userHandleFor(user.id),
      timeout: CHALLENGE_LIFETIME_MS,
      attestationType: 'none',
      // WebAuthn §5.4.3: the same authenticator is not registered twice for one account.
      excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports })),
      // A discoverable credential (resident key), so it can later sign in without a username.
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    });
    await storeChallenge(this.#deps.db, { challenge: options.challenge, purpose: 'registration', binding, userId: user.id, nowMs: this.#now() });
    return options;
  }

  /**
   * Verifies a registration response (WebAuthn §7.1) against the challenge issued to this session, and stores the
   * credential under `name`. Returns null when the challenge is gone or the response does not verify, or the
   * credential is registered already.
   */
  async completeRegistration(user: { id: number }, binding: string, response: RegistrationResponseJSON, name: unknown, meta?: RequestMeta): Promise<Passkey | null> {
    const { config, db } = this.#deps;
    const challenge = challengeOf(response?.response?.clientDataJSON);
    const claimed = challenge ? await consumeChallenge(db, { challenge, purpose: 'registration', binding, nowMs: this.#now() }) : undefined;
    if (!challenge || !claimed || claimed.userId !== user.id) return null;
    let verified;
    try {
      verified = await (await webAuthn()).verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: config.origin,
        expectedRPID: config.rpId,
        requireUserVerification: false,
      });
    } catch {
      return null;
    }
    if (!verified.verified) return null;
    const { credential, aaguid, credentialBackedUp } = verified.registrationInfo;
    const passkey = await this.repository.insert({
      userId: user.id,
      credentialId: credential.id,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      signCount: credential.counter,
      transports: credential.transports ?? [],
      aaguid: aaguid === '00000000-0000-0000-0000-000000000000' ? null : aaguid,
      backedUp: credentialBackedUp,
      name: cleanPasskeyName(name),
      createdAtMs: this.#now(),
    });
    if (!passkey) return null;
    await recordSecurityEvent(db, { userId: user.id, type: 'passkey_added', meta, detail: { passkeyId: passkey.id, name: passkey.name }, at: this.#deps.clock.now() });
    return passkey;
  }

  /**
   * Options for a sign-in. Passwordless (`userId` null): no allow-list (the authenticator offers its discoverable
   * credentials) and user verification required. Second factor: the user's credentials, user verification preferred.
   */
  async authenticationOptions(purpose: 'sign_in' | 'second_factor', binding: string, userId: number | null): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const allow = userId === null ? [] : await this.repository.listForUser(userId);
    const options = await (await webAuthn()).generateAuthenticationOptions({
      rpID: this.#deps.config.rpId,
      timeout: CHALLENGE_LIFETIME_MS,
      userVerification: purpose === 'sign_in' ? 'required' : 'preferred',
      ...(userId === null ? {} : { allowCredentials: allow.map((p) => ({ id: p.credentialId, transports: p.transports })) }),
    });
    await storeChallenge(this.#deps.db, { challenge: options.challenge, purpose, binding, userId, nowMs: this.#now() });
    return options;
  }

  /**
   * Verifies an assertion (WebAuthn §7.2): consume the bound challenge first (single use even when the rest fails) →
   * find the credential → it must belong to `expectedUserId` (second factor) and match its user handle → signature,
   * origin, RP id, flags (user verification when `purpose` is 'sign_in') → the counter advanced by compare-and-swap.
   * Refusals are logged (a clone as passkey_clone_refused); a success is not (the caller logs the sign-in).
   */
  async verifyAssertion(
    purpose: ChallengePurpose & ('sign_in' | 'second_factor'),
    binding: string,
    response: AuthenticationResponseJSON,
    expectedUserId: number | null,
    meta?: RequestMeta,
  ): Promise<AssertionResult> {
    const { db, config } = this.#deps;
    const nowMs = this.#now();
    const challenge = challengeOf(response?.response?.clientDataJSON);
    const claimed = challenge ? await consumeChallenge(db, { challenge, purpose, binding, nowMs }) : undefined;
    if (!challenge || !claimed) return this.#refuse('challenge', expectedUserId, purpose, meta);
    const passkey = typeof response.id === 'string' ? await this.repository.findByCredentialId(response.id) : null;
    if (!passkey) return this.#refuse('unknown_credential', expectedUserId, purpose, meta);
    const owner = expectedUserId ?? passkey.userId;
    const handleUser = userIdFromHandle(response.response.userHandle);
    // WebAuthn §7.2 steps 6–7: the credential must be one of the user's, and a returned user handle must name its owner.
    if (passkey.userId !== owner || (claimed.userId !== null && claimed.userId !== passkey.userId) || (response.response.userHandle && handleUser !== passkey.userId)) {
      return this.#refuse('wrong_user', expectedUserId ?? passkey.userId, purpose, meta, passkey);
    }
    let newCounter: number;
    try {
      const verified = await (await webAuthn()).verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: config.origin,
        expectedRPID: config.rpId,
        credential: { id: passkey.credentialId, publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')), counter: passkey.signCount, transports: passkey.transports },
        requireUserVerification: purpose === 'sign_in',
      });
      if (!verified.verified) return this.#refuse('invalid', passkey.userId, purpose, meta, passkey);
      newCounter = verified.authenticationInfo.newCounter;
    } catch (error) {
      // The library refuses a counter that did not increase with this message (WebAuthn §7.2 step 22).
      const cloned = error instanceof Error && /counter value/i.test(error.message);
      return this.#refuse(cloned ? 'cloned' : 'invalid', passkey.userId, purpose, meta, passkey);
    }
    if (!(await this.repository.advanceSignCount(passkey, newCounter, nowMs))) return this.#refuse('cloned', passkey.userId, purpose, meta, passkey);
    return { ok: true, passkey: { ...passkey, signCount: newCounter, lastUsedAt: new Date(nowMs) } };
  }

  async #refuse(reason: AssertionRefusal, userId: number | null, purpose: string, meta: RequestMeta | undefined, passkey?: Passkey): Promise<AssertionResult> {
    const type = reason === 'cloned' ? 'passkey_clone_refused' : 'passkey_sign_in_failed';
    const detail: Record<string, unknown> = { reason, purpose, ...(passkey ? { passkeyId: passkey.id } : {}) };
    await recordSecurityEvent(this.#deps.db, { userId, type, meta, detail, at: this.#deps.clock.now() });
    return { ok: false, reason };
  }

  /** The user's passkeys for listing (no key material). */
  async list(userId: number): Promise<PasskeySummary[]> {
    return (await this.repository.listForUser(userId)).map((p) => ({
      id: p.id,
      name: p.name,
      createdAt: p.createdAt.toISOString(),
      lastUsedAt: p.lastUsedAt?.toISOString() ?? null,
      backedUp: p.backedUp,
    }));
  }

  /** Renames one of the user's passkeys; false when it is not theirs. */
  async rename(userId: number, id: number, name: unknown, meta?: RequestMeta): Promise<boolean> {
    const clean = cleanPasskeyName(name);
    if (!(await this.repository.rename(userId, id, clean))) return false;
    await recordSecurityEvent(this.#deps.db, { userId, type: 'passkey_renamed', meta, detail: { passkeyId: id, name: clean }, at: this.#deps.clock.now() });
    return true;
  }

  /** Removes one of the user's passkeys; false when it is not theirs (another user's passkey is left alone). */
  async remove(userId: number, id: number, meta?: RequestMeta): Promise<boolean> {
    if (!(await this.repository.remove(userId, id))) return false;
    await recordSecurityEvent(this.#deps.db, { userId, type: 'passkey_removed', meta, detail: { passkeyId: id }, at: this.#deps.clock.now() });
    return true;
  }

  #now(): number {
    return this.#deps.clock.now().getTime();
  }
}
