// Passkeys end to end in a real Chromium (Debian's /usr/bin/chromium) with the DevTools protocol's virtual authenticator
// (WebAuthn.addVirtualAuthenticator: CTAP2, internal transport, resident keys, user verification): add a passkey on
// /settings/security; sign out and sign in with it alone; sign in with password + passkey as the second factor; a cloned
// authenticator (the same key with a lower signature counter) refused and logged; remove the passkey and it no longer
// works; remember this device on and off. On SQLite, and on PostgreSQL when CREW_TEST_PG_URL is set. The app listens on
// http://localhost:<port> (WebAuthn refuses IP addresses); CREW_ORIGIN defaults from PORT.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSecurityEvents } from '../../src/modules/audit/security-events.ts';
import { GOOD_PASSWORD } from '../http/app-harness.ts';
import { expectAccessible } from './accessibility-check.ts';
import { midStepClock } from './browser-steps.ts';
import { freePort, SHOTS, startE2eServer, type E2eServer } from './e2e-server.ts';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';
import { enrolUser, totpAt } from '../helpers/two-factor-fixtures.ts';

interface VirtualCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId: string;
  privateKey: string;
  userHandle: string;
  signCount: number;
}

describe.each(TEST_DIALECTS)('passkeys in a real browser (virtual authenticator) on %s', (kind) => {
  let server: E2eServer;
  let app: FastifyInstance;
  let baseUrl: string;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  let authenticatorId: string;
  let database: TestDatabase | undefined;
  // A hand-moved clock 10 s into a TOTP step, so the remembered-device test can compute codes for known steps.
  const clock = midStepClock();

  beforeAll(async () => {
    const port = await freePort();
    const env: Record<string, string> = { PORT: String(port), CREW_AUTH_RATE_LIMIT: '1000/minute' };
    if (kind === 'postgres') {
      // The same browser steps against a fresh PostgreSQL database (every guarantee is enforced in the database).
      database = await createTestDatabase('postgres');
      Object.assign(env, { DATABASE_URL: database.url, CREW_ENCRYPTION_KEY: randomBytes(32).toString('base64') });
    }
    server = await startE2eServer(env, clock);
    ({ app, baseUrl } = server);
    expect(baseUrl).toBe(`http://localhost:${port}`);
    context = await server.browser.newContext({ viewport: { width: 1000, height: 900 } });
    page = await context.newPage();
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
    }));
  }, 300_000); // Chromium starts slowly on a busy machine

  afterAll(async () => {
    await server?.close();
    await database?.cleanup();
  });

  async function credentials(): Promise<VirtualCredential[]> {
    return ((await cdp.send('WebAuthn.getCredentials', { authenticatorId })) as { credentials: VirtualCredential[] }).credentials;
  }

  /** Puts the same key back into the authenticator with another signature counter (a clone, or a restored original). */
  async function replaceCounter(credential: VirtualCredential, signCount: number): Promise<void> {
    await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: credential.credentialId });
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: { ...credential, signCount } });
  }

  async function signOut(): Promise<void> {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${baseUrl}/login?notice=signed-out`);
  }

  async function passwordStep(username: string): Promise<void> {
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${baseUrl}/login/two-factor`);
  }

  it('add, sign in alone, second factor, clone refused, remove', async () => {
    const cspViolations: string[] = [];
    page.on('console', (msg) => {
      if (/Content.Security.Policy|Refused to/i.test(msg.text())) cspViolations.push(msg.text());
    });

    // Register, then add a passkey on /settings/security (the password re-authenticates the change).
    await page.goto(`${baseUrl}/register`);
    await page.getByLabel('Username').fill('ines');
    await page.getByLabel('Password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${baseUrl}/`);
    await page.goto(`${baseUrl}/settings/security`);
    await page.getByLabel('Name for this passkey').fill('Work laptop');
    await page.getByLabel('Account password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.waitForURL(`${baseUrl}/settings/security?notice=passkey-added`);
    await expect(page.getByRole('heading', { name: 'Work laptop' })).toBeTruthy();
    expect(await page.locator('.passkey-name').allTextContents()).toEqual(['Work laptop']);
    const [stored] = await credentials();
    expect(stored).toMatchObject({ rpId: 'localhost', isResidentCredential: true });
    await expectAccessible(page, 'security settings with a passkey');
    if (kind === 'sqlite') await page.screenshot({ path: join(SHOTS, 'passkey-settings.png'), fullPage: true });

    // Signed out, the passkey alone signs in (discoverable credential + user verification: both factors).
    await signOut();
    await expectAccessible(page, 'sign-in page with the passkey button');
    if (kind === 'sqlite') await page.screenshot({ path: join(SHOTS, 'passkey-sign-in.png') });
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForURL(`${baseUrl}/`);
    await page.getByText('Signed in as').waitFor();

    // Password first, then the passkey instead of a code.
    await signOut();
    await passwordStep('ines');
    await expectAccessible(page, 'code step offering only a passkey');
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.waitForURL(`${baseUrl}/`);

    // A clone: the same private key with a counter behind the server's. Refused, and logged.
    await signOut();
    const [used] = await credentials();
    expect(used!.signCount).toBeGreaterThanOrEqual(2);
    await replaceCounter(used!, 0);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expect(page.locator('#passkey-status')).toBeTruthy();
    await page.getByText('That passkey was not accepted.').waitFor();
    expect(page.url()).toBe(`${baseUrl}/login?notice=signed-out`);
    const user = await app.services.users.verifyPassword('ines', GOOD_PASSWORD);
    const events = await listSecurityEvents(app.deps.db, user!.id);
    expect(events.map((e) => e.type)).toContain('passkey_clone_refused');

    // The real authenticator (counter ahead again) still works; then the passkey is removed and stops working.
    await replaceCounter(used!, used!.signCount + 100);
    await passwordStep('ines');
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.waitForURL(`${baseUrl}/`);
    await page.goto(`${baseUrl}/settings/security`);
    await page.getByRole('button', { name: 'Remove Work laptop' }).click();
    await page.waitForURL(`${baseUrl}/settings/security?notice=passkey-removed`);
    await page.getByText('You have no passkeys yet.').waitFor();
    await signOut();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.getByText('That passkey was not accepted.').waitFor();
    expect(cspViolations).toEqual([]);
  }, 300_000);

  it('remember this device: off asks for the code again, on skips it, "Forget all devices" ends it, and so does a password change', async () => {
    const user = await enrolUser(app, clock, 'kofi');
    const codeStep = async (remember: boolean) => {
      await passwordStep(user.username);
      clock.advanceSeconds(30); // a new TOTP step: each code is accepted once
      await page.getByLabel('Code from your authenticator app').fill(totpAt(user, clock));
      if (remember) await page.getByLabel('Remember this device for 30 days').check();
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.waitForURL(`${baseUrl}/`);
    };
    await page.goto(`${baseUrl}/login`);
    await codeStep(false);
    await signOut();
    await passwordStep(user.username); // not remembered: the code step again
    await expectAccessible(page, 'code step with "Remember this device"');
    await page.getByRole('button', { name: 'Cancel sign-in' }).click();
    await page.waitForURL(`${baseUrl}/login?notice=sign-in-cancelled`);

    await codeStep(true);
    const deviceCookie = (await context.cookies()).find((c) => c.name === 'crew_device');
    expect(deviceCookie).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    await signOut();
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${baseUrl}/`); // the password alone, on this device

    await page.goto(`${baseUrl}/settings/security`);
    await page.getByRole('heading', { name: 'Remembered devices' }).waitFor();
    await expectAccessible(page, 'security settings with a remembered device');
    if (kind === 'sqlite') await page.screenshot({ path: join(SHOTS, 'remembered-devices.png'), fullPage: true });
    await page.getByRole('button', { name: 'Forget all devices' }).click();
    await page.waitForURL(`${baseUrl}/settings/security?notice=devices-forgotten`);
    await signOut();
    await passwordStep(user.username); // forgotten: the code step again
    await page.getByRole('button', { name: 'Cancel sign-in' }).click();
    await page.waitForURL(`${baseUrl}/login?notice=sign-in-cancelled`);

    // Remembered again, then the password changes: the device must ask for the second factor again (NIST SP 800-63B
    // §5.1.9 / ASVS 2.8: a stolen device cookie stops skipping it once the owner changes the password).
    await codeStep(true);
    await page.goto(`${baseUrl}/settings/security`);
    const NEW_PASSWORD = 'a brand new passphrase 42';
    await page.locator('#current-password').fill(GOOD_PASSWORD);
    await page.getByLabel('New password').fill(NEW_PASSWORD);
    clock.advanceSeconds(30);
    await page.locator('#password-code').fill(totpAt(user, clock));
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Your password is changed.').waitFor();
    await signOut();
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${baseUrl}/login/two-factor`); // the device no longer stands in for the code
  }, 300_000);
});
