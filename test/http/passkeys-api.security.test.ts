// Passkeys through the JSON API on SQLite and PostgreSQL, with a software authenticator (test/helpers/soft-authenticator.ts):
// the registration and sign-in round trips, and the threats each rule stops — a reused or expired challenge (WebAuthn
// §13.4.3), a challenge answered from another browser, another user's credential as a second factor (§7.2 step 6), a
// cloned authenticator whose counter went back (§6.1.1), an assertion without user verification posing as both factors
// (NIST SP 800-63B §5.1.9), and a removed passkey.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSecurityEvents } from '../../src/modules/audit/security-events.ts';
import { resetTwoFactorByOperator } from '../../src/modules/two-factor/two-factor-management.ts';
import { TwoFactorRepository } from '../../src/modules/two-factor/two-factor.repository.ts';
import { SoftAuthenticator, type SoftCredential } from '../helpers/soft-authenticator.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, type TestApp } from './app-harness.ts';

const ORIGIN = 'http://localhost:3000';

describe.each(TEST_DIALECTS)('passkeys API on %s', (kind) => {
  let t: TestApp;
  const authenticator = new SoftAuthenticator('localhost', ORIGIN);

  beforeAll(async () => {
    t = await createTestApp(kind);
  });
  afterAll(() => t.close());

  /** Registers a user (signed in) and adds a passkey; returns the client and the credential. */
  async function userWithPasskey(username: string, alsoSignIn?: TestClient): Promise<{ c: TestClient; credential: SoftCredential; userId: number; passkeyId: number }> {
    const c = new TestClient(t.app);
    const registered = await c.json('POST', '/api/auth/register', { username, password: GOOD_PASSWORD });
    expect(registered.statusCode).toBe(201);
    if (alsoSignIn) expect((await alsoSignIn.json('POST', '/api/auth/login', { username, password: GOOD_PASSWORD })).json().status).toBe('authenticated');
    const options = await c.json('POST', '/api/passkeys/registration/options', { password: GOOD_PASSWORD });
    expect(options.statusCode).toBe(200);
    const { credential, body } = authenticator.register(options.json());
    const added = await c.json('POST', '/api/passkeys/registration', { ...body, name: 'Laptop' });
    expect(added.statusCode).toBe(200);
    expect(added.json()).toMatchObject({ name: 'Laptop', lastUsedAt: null });
    return { c, credential, userId: registered.json().user.id, passkeyId: added.json().id };
  }

  /** A fresh browser asking for passwordless options; returns it and the challenge. */
  async function passwordlessOptions(): Promise<{ b: TestClient; challenge: string }> {
    const b = new TestClient(t.app);
    const res = await b.json('POST', '/api/auth/passkey/options');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ rpId: 'localhost', userVerification: 'required' });
    expect(res.json().allowCredentials ?? []).toEqual([]);
    return { b, challenge: res.json().challenge };
  }

  it('adding a passkey needs the password; it is listed, renamed, and signs in alone (both factors)', async () => {
    const c = new TestClient(t.app);
    await c.json('POST', '/api/auth/register', { username: 'ada', password: GOOD_PASSWORD });
    const wrong = await c.json('POST', '/api/passkeys/registration/options', { password: 'not the password at all' });
    expect(wrong.statusCode).toBe(401);

    // Threat: a session opened elsewhere with the password alone must not outlive the account's first second factor.
    const elsewhere = new TestClient(t.app);
    const { c: owner, credential, passkeyId } = await userWithPasskey('grace', elsewhere);
    expect((await elsewhere.json('GET', '/api/me')).statusCode).toBe(401);
    expect((await owner.json('GET', '/api/me')).statusCode).toBe(200);
    const renamed = await owner.request({ method: 'PATCH', url: `/api/passkeys/${passkeyId}`, payload: { name: 'Work laptop' } });
    expect(renamed.statusCode).toBe(204);
    const list = (await owner.json('GET', '/api/passkeys')).json();
    expect(list.passkeys).toEqual([expect.objectContaining({ id: passkeyId, name: 'Work laptop', backedUp: false })]);
    expect(JSON.stringify(list)).not.toContain(credential.id); // no key material or credential ids listed

    const { b, challenge } = await passwordlessOptions();
    const signedIn = await b.json('POST', '/api/auth/passkey', authenticator.assert(credential, challenge));
    expect(signedIn.statusCode).toBe(200);
    expect(signedIn.json()).toEqual({ status: 'authenticated', user: { id: expect.any(Number), username: 'grace' } });
    expect((await b.json('GET', '/api/me')).statusCode).toBe(200);
    const after = (await owner.json('GET', '/api/passkeys')).json().passkeys[0];
    expect(after.lastUsedAt).not.toBeNull();
  });

  it('threat: a replayed assertion or a reused challenge is refused (each challenge is consumed once)', async () => {
    const { credential } = await userWithPasskey('hedy');
    const { b, challenge } = await passwordlessOptions();
    const assertion = authenticator.assert(credential, challenge);
    expect((await b.json('POST', '/api/auth/passkey', assertion)).statusCode).toBe(200);
    // The attacker replays the exact request, with the ceremony cookie it also captured.
    const replay = new TestClient(t.app);
    for (const [k, v] of b.cookies) replay.cookies.set(k, v);
    const replayed = await replay.json('POST', '/api/auth/passkey', assertion);
    expect(replayed.statusCode).toBe(401);
    expect(replayed.json().error.code).toBe('passkey_refused');
    // Even a freshly signed answer (higher counter) to the used challenge is refused.
    const b2 = new TestClient(t.app);
    await b2.json('POST', '/api/auth/passkey/options');
    expect((await b2.json('POST', '/api/auth/passkey', authenticator.assert(credential, challenge))).statusCode).toBe(401);
  });

  it('threat: the same assertion sent 10 times in parallel signs in exactly once (challenge consumed by compare-and-swap)', async () => {
    const { credential } = await userWithPasskey('dorothy');
    const { b, challenge } = await passwordlessOptions();
    const assertion = authenticator.assert(credential, challenge);
    const cookie = [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const results = await Promise.all(
      Array.from({ length: 10 }, () => t.app.inject({ method: 'POST', url: '/api/auth/passkey', payload: assertion as object, headers: { 'content-type': 'application/json', cookie } })),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, ...Array.from({ length: 9 }, () => 401)]);
  });

  it('threat: two assertions carrying one counter value, on two challenges, race: exactly one wins (counter compare-and-swap)', async () => {
    const { credential } = await userWithPasskey('joan');
    const first = await passwordlessOptions();
    const second = await passwordlessOptions();
    const a = authenticator.assert(credential, first.challenge, { signCount: 7 });
    const b = authenticator.assert(credential, second.challenge, { signCount: 7 });
    const results = await Promise.all([first.b.json('POST', '/api/auth/passkey', a), second.b.json('POST', '/api/auth/passkey', b)]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401]);
  });

  it('threat: a challenge older than 5 minutes is refused', async () => {
    const { credential, userId } = await userWithPasskey('katherine');
    const { b, challenge } = await passwordlessOptions();
    t.clock.advanceSeconds(5 * 60 + 1);
    const res = await b.json('POST', '/api/auth/passkey', authenticator.assert(credential, challenge));
    expect(res.statusCode).toBe(401);
    // Refused for the challenge, not for anything else about the assertion.
    const events = await listSecurityEvents(t.deps.db, userId);
    expect(events.find((e) => e.type === 'passkey_sign_in_failed')).toBeUndefined(); // no user is known before the credential
    const failed = await t.deps.db.selectFrom('security_events').select('detail').where('type', '=', 'passkey_sign_in_failed').orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(JSON.parse(failed.detail!)).toMatchObject({ reason: 'challenge' });
  });

  it('threat: a challenge issued to one browser cannot be answered from another (bound to its ceremony cookie)', async () => {
    const { credential } = await userWithPasskey('margaret');
    const { challenge } = await passwordlessOptions(); // the victim's browser asked
    const attacker = new TestClient(t.app);
    await attacker.json('POST', '/api/auth/passkey/options'); // the attacker has a ceremony cookie of its own
    expect((await attacker.json('POST', '/api/auth/passkey', authenticator.assert(credential, challenge))).statusCode).toBe(401);
  });

  it('threat: passwordless sign-in without user verification is refused (one factor must not pass as two)', async () => {
    const { credential } = await userWithPasskey('barbara');
    const { b, challenge } = await passwordlessOptions();
    expect((await b.json('POST', '/api/auth/passkey', authenticator.assert(credential, challenge, { uv: false }))).statusCode).toBe(401);
  });

  it('threat: a cloned authenticator (counter not increasing) is refused and logged', async () => {
    const { credential, userId } = await userWithPasskey('frances');
    const first = await passwordlessOptions();
    expect((await first.b.json('POST', '/api/auth/passkey', authenticator.assert(credential, first.challenge, { signCount: 5 }))).statusCode).toBe(200);
    const clone = await passwordlessOptions();
    const res = await clone.b.json('POST', '/api/auth/passkey', authenticator.assert(credential, clone.challenge, { signCount: 5 }));
    expect(res.statusCode).toBe(401);
    const events = await listSecurityEvents(t.deps.db, userId);
    expect(events.map((e) => e.type)).toContain('passkey_clone_refused');
  });

  it('password + passkey as the second factor; another user\'s passkey is refused there', async () => {
    const { credential: own } = await userWithPasskey('mary');
    const { credential: other } = await userWithPasskey('annie');
    const c = new TestClient(t.app);
    const login = await c.json('POST', '/api/auth/login', { username: 'mary', password: GOOD_PASSWORD });
    expect(login.json()).toEqual({ status: 'two_factor_required' }); // a passkey is a second factor
    expect((await c.json('GET', '/api/me')).statusCode).toBe(401); // the pending sign-in grants nothing else
    let options = (await c.json('POST', '/api/auth/login/two-factor/passkey/options')).json();
    expect(options.allowCredentials).toEqual([expect.objectContaining({ id: own.id })]);
    const foreign = await c.json('POST', '/api/auth/login/two-factor/passkey', authenticator.assert(other, options.challenge, { userHandle: null }));
    expect(foreign.statusCode).toBe(401);
    expect(foreign.json().error.code).toBe('passkey_refused');
    options = (await c.json('POST', '/api/auth/login/two-factor/passkey/options')).json();
    // No user verification needed here: the password was the other factor (NIST SP 800-63B §5.1.8 with a memorized secret).
    const ok = await c.json('POST', '/api/auth/login/two-factor/passkey', { ...authenticator.assert(own, options.challenge, { uv: false }), rememberDevice: true });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ status: 'authenticated', user: { id: expect.any(Number), username: 'mary' } });
    expect((await c.json('GET', '/api/me')).statusCode).toBe(200);
    // "Remember this device" works after a passkey too: the password alone signs in on this client next time.
    await c.json('POST', '/api/auth/logout');
    expect((await c.json('POST', '/api/auth/login', { username: 'mary', password: GOOD_PASSWORD })).json().status).toBe('authenticated');
  });

  it('a removed passkey no longer signs in; another user cannot remove it', async () => {
    const { c, credential, passkeyId } = await userWithPasskey('radia');
    const stranger = new TestClient(t.app);
    await stranger.json('POST', '/api/auth/register', { username: 'eve', password: GOOD_PASSWORD });
    expect((await stranger.request({ method: 'DELETE', url: `/api/passkeys/${passkeyId}` })).statusCode).toBe(404);
    expect((await c.request({ method: 'DELETE', url: `/api/passkeys/${passkeyId}` })).statusCode).toBe(204);
    expect((await c.json('GET', '/api/passkeys')).json().passkeys).toEqual([]);
    const { b, challenge } = await passwordlessOptions();
    expect((await b.json('POST', '/api/auth/passkey', authenticator.assert(credential, challenge))).statusCode).toBe(401);
  });

  it('the settings page lists passkeys and renames/removes them with plain forms (CSRF-checked, owner only)', async () => {
    const { c, passkeyId } = await userWithPasskey('hopper');
    const { res, csrf } = await c.page('/settings/security');
    expect(res.body).toContain('Add a passkey');
    expect(res.body).toContain('<h3 class="passkey-name">Laptop</h3>');
    expect(res.body).toContain('<script src="/static/simplewebauthn-browser.js" defer></script>');
    const forged = await c.form(`/settings/security/passkeys/${passkeyId}/rename`, { _csrf: 'x'.repeat(43), name: 'Evil' });
    expect(forged.statusCode).toBe(403);
    const renamed = await c.form(`/settings/security/passkeys/${passkeyId}/rename`, { _csrf: csrf, name: '  Desk <key>  ' });
    expect(renamed.headers.location).toBe('/settings/security?notice=passkey-renamed');
    const after = await c.page('/settings/security?notice=passkey-renamed');
    expect(after.res.body).toContain('Desk &lt;key&gt;'); // escaped, trimmed
    const stranger = new TestClient(t.app);
    await stranger.json('POST', '/api/auth/register', { username: 'mallory', password: GOOD_PASSWORD });
    const strangerCsrf = (await stranger.page('/settings/security')).csrf;
    expect((await stranger.form(`/settings/security/passkeys/${passkeyId}/remove`, { _csrf: strangerCsrf })).statusCode).toBe(404);
    const removed = await c.form(`/settings/security/passkeys/${passkeyId}/remove`, { _csrf: after.csrf });
    expect(removed.headers.location).toBe('/settings/security?notice=passkey-removed');
    expect((await c.json('GET', '/api/passkeys')).json().passkeys).toEqual([]);
  });

  it('a registration answered for another origin is refused', async () => {
    const c = new TestClient(t.app);
    await c.json('POST', '/api/auth/register', { username: 'sophie', password: GOOD_PASSWORD });
    const options = (await c.json('POST', '/api/passkeys/registration/options', { password: GOOD_PASSWORD })).json();
    const { body } = authenticator.register(options, { origin: 'https://evil.example' });
    expect((await c.json('POST', '/api/passkeys/registration', body)).statusCode).toBe(400);
  });
});

describe.each(TEST_DIALECTS)('passkeys with CREW_REQUIRE_2FA=all and an operator reset on %s', (kind) => {
  let t: TestApp;
  const authenticator = new SoftAuthenticator('localhost', ORIGIN);
  beforeAll(async () => {
    t = await createTestApp(kind, { CREW_REQUIRE_2FA: 'all' });
  });
  afterAll(() => t.close());

  it('a passkey satisfies CREW_REQUIRE_2FA; `crew 2fa reset` removes it and signs the user out', async () => {
    const c = new TestClient(t.app);
    await c.json('POST', '/api/auth/register', { username: 'lin', password: GOOD_PASSWORD });
    expect((await c.request({ method: 'GET', url: '/' })).headers.location).toBe('/settings/security'); // must enrol
    const options = (await c.json('POST', '/api/passkeys/registration/options', { password: GOOD_PASSWORD })).json();
    const { credential, body } = authenticator.register(options);
    expect((await c.json('POST', '/api/passkeys/registration', body)).statusCode).toBe(200);
    expect((await c.request({ method: 'GET', url: '/' })).statusCode).toBe(200); // enrolled with a passkey
    expect((await c.page('/settings/security')).res.body).not.toContain('requires two-factor authentication');

    const r = await resetTwoFactorByOperator({ db: t.deps.db, clock: t.clock, twoFactor: new TwoFactorRepository(t.deps.db) }, 'lin');
    expect(r).toMatchObject({ removed: true, passkeysRemoved: 1, sessionsEnded: 1 });
    expect((await c.json('GET', '/api/me')).statusCode).toBe(401);
    const b = new TestClient(t.app);
    const { challenge } = (await b.json('POST', '/api/auth/passkey/options')).json();
    expect((await b.json('POST', '/api/auth/passkey', authenticator.assert(credential, challenge))).statusCode).toBe(401);
  });
});
