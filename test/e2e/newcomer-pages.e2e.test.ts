// What a newcomer tripped over on the pages (issue 11), each shown in real Chromium: the rate-limit page names the
// wait from Retry-After; the code step has a numeric field and a backup-code link that works without JavaScript; the
// header offers "Cancel sign-in" during the code step; focus after a registration password error; a reused TOTP code
// and a reused backup code read alike; a favicon (no console 404); a hidden username field for password managers in
// the disable form; whole dates at 390 px; a confirmation after signing out.
import { join } from 'node:path';
import type { Browser, BrowserContext, ConsoleMessage, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/lib/app-error.ts';
import { GOOD_PASSWORD } from '../http/app-harness.ts';
import { enrolUser, postCode, startSignIn, totpAt, type EnrolledUser } from '../helpers/two-factor-fixtures.ts';
import { expectAccessible } from './accessibility-check.ts';
import { midStepClock, submitForm } from './browser-steps.ts';
import { SHOTS, startE2eServer, type E2eServer } from './e2e-server.ts';

const TIMEOUT_MS = 300_000;

describe('the per-IP rate limit and closed registration, as pages', () => {
  let server: E2eServer;
  beforeAll(async () => {
    server = await startE2eServer({ CREW_AUTH_RATE_LIMIT: '3/minute', CREW_REGISTRATION: 'closed' });
  }, TIMEOUT_MS);
  afterAll(() => server?.close());

  it('the 429 page says "Try again in N seconds" with the N of its Retry-After header', async () => {
    const context = await server.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.baseUrl}/register`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('That did not work');
    await expect(page.locator('main').textContent()).resolves.toContain('Registration is closed');
    await expectAccessible(page, 'registration closed (403)');

    await page.goto(`${server.baseUrl}/login`);
    for (let i = 0; i < 3; i++) await submitForm(page, { Username: 'someone', Password: 'a wrong password' }, 'Sign in');
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      submitForm(page, { Username: 'someone', Password: 'a wrong password' }, 'Sign in'),
    ]);
    expect(answer.status()).toBe(429);
    const seconds = Number(answer.headers()['retry-after']);
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(seconds).toBeLessThanOrEqual(60);
    await expect(page.locator('#retry-after').textContent()).resolves.toBe(
      // The whole window (60 s) reads as "1 minute", as the lockout page words it.
      `Too many attempts came from your network. Try again in ${seconds === 60 ? '1 minute' : `${seconds} ${seconds === 1 ? 'second' : 'seconds'}`}.`,
    );
    await expect(page.title()).resolves.toBe('Error: Too many attempts · Production Crew');
    await expectAccessible(page, 'per-IP rate limit (429)');
    await context.close();
  }, TIMEOUT_MS);
});

describe('sign-in and settings pages a newcomer used', () => {
  let server: E2eServer;
  let browser: Browser;
  let baseUrl: string;
  // 10 s into the current 30 s step, so ±1-step arithmetic is unambiguous.
  const clock = midStepClock();

  beforeAll(async () => {
    server = await startE2eServer({ CREW_AUTH_RATE_LIMIT: '1000/minute' }, clock);
    ({ browser, baseUrl } = server);
  }, TIMEOUT_MS);
  afterAll(() => server?.close());

  async function open(options: { javaScriptEnabled?: boolean; width?: number } = {}): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ javaScriptEnabled: options.javaScriptEnabled ?? true, viewport: { width: options.width ?? 1280, height: 844 } });
    return { context, page: await context.newPage() };
  }

  async function passwordStep(page: Page, user: EnrolledUser): Promise<void> {
    await page.goto(`${baseUrl}/login`);
    await submitForm(page, { Username: user.username, Password: GOOD_PASSWORD }, 'Sign in');
    expect(new URL(page.url()).pathname).toBe('/login/two-factor');
  }

  async function signIn(page: Page, user: EnrolledUser): Promise<void> {
    await passwordStep(page, user);
    clock.advanceSeconds(30); // each time step signs in once (RFC 6238 §5.2)
    await submitForm(page, { 'Code from your authenticator app': totpAt(user, clock) }, 'Verify');
    expect(new URL(page.url()).pathname).toBe('/');
  }

  it('the code step: a numeric 6-digit field, and "Use a backup code instead" switching to a text field without JavaScript', async () => {
    const user = await enrolUser(server.app, clock, 'numeric');
    const { context, page } = await open({ javaScriptEnabled: false, width: 390 });
    await passwordStep(page, user);
    await page.screenshot({ path: join(SHOTS, 'login-two-factor-phone.png') });
    const appCode = page.getByLabel('Code from your authenticator app', { exact: true });
    await expect(appCode.evaluate((el: HTMLInputElement) => [el.type, el.inputMode, el.pattern, el.autocomplete, el.maxLength])).resolves.toEqual([
      'text', 'numeric', '[0-9 ]*', 'one-time-code', 7,
    ]);
    await page.getByRole('link', { name: 'Use a backup code instead' }).click();
    await page.waitForURL(`${baseUrl}/login/two-factor?method=backup`);
    const backup = page.getByLabel('Backup code', { exact: true });
    await expect(backup.evaluate((el: HTMLInputElement) => [el.type, el.inputMode, el.pattern, el.autocomplete])).resolves.toEqual(['text', '', '', 'one-time-code']);
    await expect(page.getByRole('link', { name: 'Use your authenticator app instead' }).getAttribute('href')).resolves.toBe('/login/two-factor');
    await submitForm(page, { 'Backup code': user.backupCodes[0]! }, 'Verify');
    await page.waitForURL(`${baseUrl}/?notice=backup-code`);
    await context.close();
  }, TIMEOUT_MS);

  it('during the code step the header offers "Cancel sign-in", which ends the pending sign-in and says so', async () => {
    const user = await enrolUser(server.app, clock, 'cancel');
    const { context, page } = await open();
    await passwordStep(page, user);
    const nav = page.getByRole('navigation', { name: 'Main' });
    await expect(nav.getByRole('button').allTextContents()).resolves.toEqual(['Cancel sign-in']);
    await expect(nav.getByRole('link').count()).resolves.toBe(0); // no "Sign in" / "Create account"
    await nav.getByRole('button', { name: 'Cancel sign-in' }).click();
    await page.waitForURL(`${baseUrl}/login?notice=sign-in-cancelled`);
    await expect(page.locator('#notice').textContent()).resolves.toContain('Sign-in cancelled.');
    await expectAccessible(page, 'sign-in cancelled');
    await page.goto(`${baseUrl}/login/two-factor`);
    expect(new URL(page.url()).pathname).toBe('/login'); // the pending sign-in is gone
    await context.close();
  }, TIMEOUT_MS);

  it('registration: after a password error focus is on the password field, which alone is marked invalid', async () => {
    const { context, page } = await open();
    await page.goto(`${baseUrl}/register`);
    await submitForm(page, { Username: 'nadia', Password: 'short' }, 'Create account');
    await page.waitForFunction(() => document.activeElement?.id === 'password');
    await expect(page.getByLabel('Password').getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(page.getByLabel('Username').getAttribute('aria-invalid')).resolves.toBeNull();
    await expect(page.getByLabel('Username').inputValue()).resolves.toBe('nadia');
    await context.close();
  }, TIMEOUT_MS);

  it('a reused TOTP code and a reused backup code get the same message as a wrong code', async () => {
    const user = await enrolUser(server.app, clock, 'reuse'); // enabling used the current step
    expect((await postCode(await startSignIn(server.app, user.username), user.backupCodes[0]!)).statusCode).toBe(200);
    const { context, page } = await open();
    await passwordStep(page, user);
    await submitForm(page, { 'Code from your authenticator app': totpAt(user, clock) }, 'Verify');
    const reusedTotp = await page.getByRole('alert').textContent();
    await page.getByRole('link', { name: 'Use a backup code instead' }).click();
    await submitForm(page, { 'Backup code': user.backupCodes[0]! }, 'Verify');
    const reusedBackup = await page.getByRole('alert').textContent();
    expect([reusedTotp?.trim(), reusedBackup?.trim()]).toEqual([new AppError('invalid_code').message, new AppError('invalid_code').message]);
    await context.close();
  }, TIMEOUT_MS);

  it('a favicon: the page names it, it loads, /favicon.ico leads to it, and nothing 404s in the console', async () => {
    const { context, page } = await open();
    const errors: string[] = [];
    page.on('console', (m: ConsoleMessage) => {
      if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url})`);
    });
    await page.goto(`${baseUrl}/login`);
    const href = await page.locator('link[rel="icon"]').getAttribute('href');
    const icon = await page.request.get(`${baseUrl}${href}`);
    expect([icon.status(), icon.headers()['content-type']]).toEqual([200, 'image/svg+xml']);
    expect(await icon.text()).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const ico = await page.request.get(`${baseUrl}/favicon.ico`, { maxRedirects: 0 });
    expect([ico.status(), ico.headers().location]).toEqual([301, '/static/favicon.svg']);
    await page.goto(`${baseUrl}/register`); // a second page, with the icon already known
    expect(errors).toEqual([]);
    await context.close();
  }, TIMEOUT_MS);

  it('the disable form names the account for password managers with a hidden username field, and Chromium has no advice', async () => {
    const user = await enrolUser(server.app, clock, 'manager');
    const { context, page } = await open();
    const advice: string[] = [];
    page.on('console', (m: ConsoleMessage) => {
      if (m.text().startsWith('[DOM]')) advice.push(m.text());
    });
    await signIn(page, user);
    await page.goto(`${baseUrl}/settings/security`);
    const field = page.locator('#disable-section form input[autocomplete="username"]');
    await expect(field.evaluate((el: HTMLInputElement) => [el.hidden, el.value, el.name])).resolves.toEqual([true, user.username, '']);
    expect(advice).toEqual([]);
    await context.close();
  }, TIMEOUT_MS);

  it('at 390 px every date and time in the events table stays on one line, and signing out confirms it', async () => {
    const user = await enrolUser(server.app, clock, 'narrow');
    const { context, page } = await open({ width: 390 });
    await signIn(page, user);
    await page.goto(`${baseUrl}/settings/security`);
    const parts = await page.locator('table.events time .nowrap').evaluateAll((spans) =>
      spans.map((span) => ({ text: span.textContent, lines: span.getClientRects().length })),
    );
    expect(parts.length).toBeGreaterThanOrEqual(8); // 4+ events: account, 2FA set up and on, sign-ins
    for (const part of parts) expect(part, 'a date or time broken over lines').toEqual({ text: expect.stringMatching(/^(\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d UTC)$/), lines: 1 });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${baseUrl}/login?notice=signed-out`);
    await expect(page.locator('#notice').textContent()).resolves.toBe('You have signed out.');
    await expectAccessible(page, 'signed out');
    await context.close();
  }, TIMEOUT_MS);
});
