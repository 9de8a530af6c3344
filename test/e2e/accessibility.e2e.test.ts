// Accessibility of every page and error state at its hardest (issue 14), in real Chromium: a 30-character username
// with no break opportunity, 50 security events with long labels and long IPv6 addresses, and every way a form can be
// refused. Each state goes through expectAccessible: axe-core (WCAG 2.2 AA + best practice) at 1280×800 and 320×720,
// no sideways scrolling at 320 CSS px, a focus ring of at least 3:1 on every focusable element, and focus on the field
// in error (or the error summary) after each refusal. The happy paths are checked in enrol/sign-in.e2e.test.ts.
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordSecurityEvent, type SecurityEventType } from '../../src/modules/audit/security-events.ts';
import { generateTotp } from '../../src/modules/two-factor/totp.ts';
import { GOOD_PASSWORD, TestClient } from '../http/app-harness.ts';
import { expectAccessible } from './accessibility-check.ts';
import { midStepClock, submitForm } from './browser-steps.ts';
import { SHOTS, startE2eServer, type E2eServer } from './e2e-server.ts';

/** 30 characters and not one place a browser may break a line: the widest name a person can register. */
const LONG_NAME = 'a_very_long_username_for_tests';
/** The longest IPv6 text form (39 characters) and an IPv4-mapped one, as the From column may show them. */
const LONG_IPS = ['2001:0db8:85a3:1234:5678:8a2e:0370:7334', '::ffff:203.0.113.195'];
/** Events whose labels are among the longest the page writes. */
const EVENTS: Array<{ type: SecurityEventType; detail?: Record<string, unknown> }> = [
  { type: 'two_factor_code_failed', detail: { factor: 'password' } },
  { type: 'two_factor_code_failed', detail: { purpose: 'regenerate_backup_codes' } },
  { type: 'two_factor_lockout', detail: { lockedForSeconds: 900 } },
  { type: 'sign_in_with_backup_code', detail: { backupCodesRemaining: 9 } },
  { type: 'two_factor_reset_by_operator' },
];

const TIMEOUT_MS = 600_000; // each state loads twice and runs axe twice: generous, for a loaded machine

describe('every page and error state, at 320 and 1280 px', () => {
  let server: E2eServer;
  let app: FastifyInstance;
  let browser: Browser;
  let baseUrl: string;
  let secret: string;
  const clock = midStepClock();

  beforeAll(async () => {
    server = await startE2eServer({ CREW_AUTH_RATE_LIMIT: '1000/minute' }, clock);
    ({ app, browser, baseUrl } = server);
    // The user, through the API: registered, 2FA on with the current step (used), then 50 recorded events.
    const c = new TestClient(app);
    expect((await c.json('POST', '/api/auth/register', { username: LONG_NAME, password: GOOD_PASSWORD })).statusCode).toBe(201);
    secret = (await c.json('POST', '/api/2fa/setup', { password: GOOD_PASSWORD })).json().secret;
    expect((await c.json('POST', '/api/2fa/enable', { code: generateTotp(secret, clock.now()) })).statusCode).toBe(200);
    const userId = (await c.json('GET', '/api/me')).json().user.id as number;
    for (let i = 0; i < 50; i++) {
      const { type, detail } = EVENTS[i % EVENTS.length]!;
      const meta = { ip: LONG_IPS[i % LONG_IPS.length]!, userAgent: 'Mozilla/5.0' };
      await recordSecurityEvent(app.deps.db, { userId, type, meta, ...(detail ? { detail } : {}), at: new Date(clock.now().getTime() - i * 60_000) });
    }
  }, TIMEOUT_MS);

  afterAll(() => server?.close());

  async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    return { context, page: await context.newPage() };
  }


  /** Password step and, with the next step's code, the second step: a full session for LONG_NAME. */
  async function signIn(page: Page): Promise<void> {
    await page.goto(`${baseUrl}/login`);
    await submitForm(page, { Username: LONG_NAME, Password: GOOD_PASSWORD }, 'Sign in');
    clock.advanceSeconds(30); // a fresh time step: each one signs in once (RFC 6238 §5.2)
    await submitForm(page, { 'Code from your authenticator app': generateTotp(secret, clock.now()) }, 'Verify');
    expect(new URL(page.url()).pathname).toBe('/');
  }

  it('sign-in errors: wrong password, nothing entered', async () => {
    const { context, page } = await newPage();
    await page.goto(`${baseUrl}/login`);
    await submitForm(page, { Username: LONG_NAME, Password: 'not the password' }, 'Sign in');
    await expect(page.locator('#form-error').textContent()).resolves.toContain('Wrong username or password.');
    await expect(page.getByLabel('Username').inputValue()).resolves.toBe(LONG_NAME);
    await expectAccessible(page, 'sign in: wrong password', { focused: '#password' });

    await submitForm(page, { Username: '', Password: '' }, 'Sign in');
    await expectAccessible(page, 'sign in: nothing entered', { focused: '#username' });
    await context.close();
  }, TIMEOUT_MS);

  it('registration errors: short password, name taken, e-mail not valid', async () => {
    const { context, page } = await newPage();
    await page.goto(`${baseUrl}/register`);
    await submitForm(page, { Username: 'newcomer', Password: 'short' }, 'Create account');
    await expectAccessible(page, 'create account: password too short', { focused: '#password' });
    await submitForm(page, { Username: LONG_NAME, Password: GOOD_PASSWORD }, 'Create account');
    await expect(page.locator('#form-error').textContent()).resolves.toContain('That username is taken.');
    await expectAccessible(page, 'create account: username taken', { focused: '#username' });
    await submitForm(page, { Username: 'newcomer', 'E-mail (optional)': 'not an address', Password: GOOD_PASSWORD }, 'Create account');
    await expectAccessible(page, 'create account: e-mail not valid', { focused: '#email' });
    await context.close();
  }, TIMEOUT_MS);

  it('the 404 page, an expired form, the notice after an expired code step', async () => {
    const { context, page } = await newPage();
    const missing = await page.goto(`${baseUrl}/no/such/page`);
    expect(missing?.status()).toBe(404);
    await expect(page.title()).resolves.toBe('Page not found · Production Crew');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Page not found');
    await expectAccessible(page, '404');

    await page.goto(`${baseUrl}/login`);
    await context.clearCookies(); // the form's CSRF cookie is gone, as after a long pause
    await submitForm(page, { Username: LONG_NAME, Password: GOOD_PASSWORD }, 'Sign in');
    await expect(page.title()).resolves.toBe('Error: That did not work · Production Crew');
    await expectAccessible(page, 'expired form (403)');

    await page.goto(`${baseUrl}/login?notice=sign-in-expired`);
    await expectAccessible(page, 'sign in: the code step expired');
    await context.close();
  }, TIMEOUT_MS);

  it('the code step with a 30-character name: a wrong backup code, nothing entered', async () => {
    const { context, page } = await newPage();
    await page.goto(`${baseUrl}/login`);
    await submitForm(page, { Username: LONG_NAME, Password: GOOD_PASSWORD }, 'Sign in');
    await submitForm(page, { 'Code from your authenticator app': '' }, 'Verify');
    await expectAccessible(page, 'code step: nothing entered', { focused: '#code' });
    await page.getByRole('link', { name: 'Use a backup code instead' }).click();
    await submitForm(page, { 'Backup code': 'zzzzz-zzzzz' }, 'Verify');
    await expectAccessible(page, 'code step: wrong backup code', { focused: '#code' });
    await context.close();
  }, TIMEOUT_MS);

  it('signed in with a 30-character name and 50 events: home and security settings', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await expectAccessible(page, 'home: 30-character username');
    await page.setViewportSize({ width: 320, height: 720 });
    await page.screenshot({ path: join(SHOTS, 'home-320px-long-name.png') });
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${baseUrl}/settings/security`);
    await expect(page.locator('table.events tbody tr').count()).resolves.toBe(50);
    await expectAccessible(page, 'security settings: 50 events');
    await context.close();
  }, TIMEOUT_MS);

  it('new backup codes: a wrong code, a backup code given, the new codes', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await page.goto(`${baseUrl}/settings/security`);
    await submitForm(page, { 'Code from your authenticator app': '000000' }, 'Generate new backup codes');
    await expect(page.locator('#regenerate-error').textContent()).resolves.toContain('That code is not valid.');
    await expectAccessible(page, 'new backup codes: wrong code', { focused: '#regenerate-code' });
    await submitForm(page, { 'Code from your authenticator app': 'abcde-23456' }, 'Generate new backup codes');
    await expectAccessible(page, 'new backup codes: a backup code given', { focused: '#regenerate-code' });
    clock.advanceSeconds(30);
    await submitForm(page, { 'Code from your authenticator app': generateTotp(secret, clock.now()) }, 'Generate new backup codes');
    await page.getByRole('heading', { name: 'Your new backup codes' }).waitFor();
    await expectAccessible(page, 'new backup codes shown');
    await context.close();
  }, TIMEOUT_MS);

  it('turning 2FA off: wrong password, wrong code, nothing entered, locked, then off', async () => {
    const { context, page } = await newPage();
    await signIn(page);
    await page.goto(`${baseUrl}/settings/security`);
    const codeLabel = 'Code from your authenticator app, or a backup code';
    await submitForm(page, { Password: 'not the password', [codeLabel]: '000000' }, 'Turn off 2FA');
    await expect(page.locator('#disable-error').textContent()).resolves.toContain('Wrong password.');
    await expectAccessible(page, 'turn off 2FA: wrong password', { focused: '#disable-password' });
    await submitForm(page, { Password: GOOD_PASSWORD, [codeLabel]: '000000' }, 'Turn off 2FA');
    await expectAccessible(page, 'turn off 2FA: wrong code', { focused: '#disable-code' });
    await submitForm(page, { Password: '', [codeLabel]: '' }, 'Turn off 2FA');
    await expectAccessible(page, 'turn off 2FA: nothing entered', { focused: '#disable-password' });

    // Eight more wrong codes reach the account's limit of 10 (NIST SP 800-63B §5.2.2): the message names the wait.
    for (let i = 0; i < 8; i++) await submitForm(page, { Password: GOOD_PASSWORD, [codeLabel]: '000000' }, 'Turn off 2FA');
    await expect(page.locator('#disable-error').textContent()).resolves.toContain('Try again in 15 minutes');
    await expectAccessible(page, 'turn off 2FA: locked', { focused: '#disable-error' });

    clock.advanceSeconds(15 * 60 + 30);
    await page.goto(`${baseUrl}/settings/security`);
    await submitForm(page, { Password: GOOD_PASSWORD, [codeLabel]: generateTotp(secret, clock.now()) }, 'Turn off 2FA');
    await expect(page.locator('#notice').textContent()).resolves.toContain('Two-factor authentication is off.');
    await expectAccessible(page, 'security settings: 2FA turned off');
    await context.close();
  }, TIMEOUT_MS);
});
