// The account-hardening forms of issue 8 in real Chromium, each state through expectAccessible (axe-core WCAG 2.2 AA at
// 1280 and 320 px, focus on the field in error): the password asked before 2FA set-up, the sign-in form while the
// account's password throttle is in force, the failed-attempts notice on home, the password-change form, and the
// signed-in sessions list with its buttons. All without JavaScript.
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, TestClient } from '../http/app-harness.ts';
import { expectAccessible } from './accessibility-check.ts';
import { midStepClock, submitForm } from './browser-steps.ts';
import { startE2eServer, type E2eServer } from './e2e-server.ts';

const TIMEOUT_MS = 600_000; // several states, each loaded twice with axe: generous, for a loaded machine
const NEW_PASSWORD = 'another long passphrase 7';

describe('account security forms in Chromium', () => {
  let server: E2eServer;
  let app: FastifyInstance;
  let browser: Browser;
  let baseUrl: string;
  const clock = midStepClock();

  beforeAll(async () => {
    server = await startE2eServer({ CREW_AUTH_RATE_LIMIT: '1000/minute' }, clock);
    ({ app, browser, baseUrl } = server);
    for (const username of ['rhea', 'theo']) {
      expect((await new TestClient(app).json('POST', '/api/auth/register', { username, password: GOOD_PASSWORD })).statusCode).toBe(201);
    }
  }, TIMEOUT_MS);
  afterAll(() => server?.close());

  async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    return { context, page: await context.newPage() };
  }
  const wrongLogins = async (username: string, count: number) => {
    for (let i = 0; i < count; i++) await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password: `wrong ${i}` } });
  };

  it('sign-in while throttled, then the failed-attempts notice on home', async () => {
    await wrongLogins('theo', 10);
    const { context, page } = await newPage();
    await page.goto(`${baseUrl}/login`);
    await submitForm(page, { Username: 'theo', Password: GOOD_PASSWORD }, 'Sign in');
    await expect(page.locator('#form-error').textContent()).resolves.toContain('Too many wrong passwords for this account');
    await expectAccessible(page, 'sign in: throttled', { focused: '#password' });
    clock.advanceSeconds(60);
    await submitForm(page, { Username: 'theo', Password: GOOD_PASSWORD }, 'Sign in');
    expect(new URL(page.url()).pathname).toBe('/');
    await expect(page.locator('#failed-attempts').textContent()).resolves.toContain('11 failed sign-in attempts');
    await expectAccessible(page, 'home: failed attempts notice');
    await context.close();
  }, TIMEOUT_MS);

  it('security settings: 2FA set-up asks for the password; password change; sessions', async () => {
    const other = new TestClient(app);
    await other.request({ method: 'POST', url: '/api/auth/login', payload: { username: 'rhea', password: GOOD_PASSWORD }, headers: { 'content-type': 'application/json', 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1' } });
    const { context, page } = await newPage();
    await page.goto(`${baseUrl}/login`);
    await submitForm(page, { Username: 'rhea', Password: GOOD_PASSWORD }, 'Sign in');
    await page.goto(`${baseUrl}/settings/security`);
    // Registration's session, the phone's and this one.
    await expect(page.locator('#sessions-section tbody tr').count()).resolves.toBe(3);
    await expectAccessible(page, 'security settings: password form and three sessions');

    await submitForm(page, { 'Your password': 'not my password' }, 'Enable 2FA');
    await expect(page.locator('#setup-error').textContent()).resolves.toContain('That password is not right.');
    await expectAccessible(page, 'enable 2FA: wrong password', { focused: '#setup-password' });

    await submitForm(page, { 'Current password': 'not my password', 'New password': NEW_PASSWORD }, 'Change password');
    await expectAccessible(page, 'change password: wrong current password', { focused: '#current-password' });
    await submitForm(page, { 'Current password': GOOD_PASSWORD, 'New password': 'short' }, 'Change password');
    await expectAccessible(page, 'change password: new password too short', { focused: '#new-password' });

    // End the phone's session with its button, then change the password.
    const phoneRow = page.locator('#sessions-section tbody tr', { hasText: 'Safari on iOS' });
    await Promise.all([page.waitForEvent('load'), phoneRow.getByRole('button', { name: /^End session: Safari on iOS/ }).click()]);
    await expect(page.locator('#notice').textContent()).resolves.toContain('That session has ended');
    await expect(page.locator('#sessions-section tbody tr').count()).resolves.toBe(2);
    await expectAccessible(page, 'sessions: one signed out');
    expect((await other.json('GET', '/api/me')).statusCode).toBe(401);

    await submitForm(page, { 'Current password': GOOD_PASSWORD, 'New password': NEW_PASSWORD }, 'Change password');
    await expect(page.locator('#notice').textContent()).resolves.toContain('Your password is changed.');
    await expectAccessible(page, 'change password: done');
    expect((await new TestClient(app).json('POST', '/api/auth/login', { username: 'rhea', password: NEW_PASSWORD })).statusCode).toBe(200);
    await context.close();
  }, TIMEOUT_MS);
});
