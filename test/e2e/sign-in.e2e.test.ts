// End to end in a real Chromium (Debian's /usr/bin/chromium, never a downloaded browser): a user enrolled through the
// API signs in with password → code page → TOTP code → home; then with a backup code (the warning when ≤ 3 are left);
// then meets the lockout message after 10 wrong codes; and finally reads the security events. The app runs on an
// injected ManualClock, so codes are computed for known steps and the 15-minute lockout passes instantly.
// Every state is checked by expectAccessible (axe-core, reflow, focus). Screenshots go to docs/screenshots/.
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/lib/app-error.ts';
import { GOOD_PASSWORD } from '../http/app-harness.ts';
import { enrolUser, postCode, startSignIn, totpAt, wrongCode, type EnrolledUser } from '../helpers/two-factor-fixtures.ts';
import { expectAccessible } from './accessibility-check.ts';
import { midStepClock } from './browser-steps.ts';
import { SHOTS, startE2eServer, type E2eServer } from './e2e-server.ts';

describe('two-step sign-in in a real browser', () => {
  let server: E2eServer;
  let app: FastifyInstance;
  let browser: Browser;
  let baseUrl: string;
  // 10 s into the current 30 s step, so ±1-step arithmetic below is unambiguous.
  const clock = midStepClock();

  beforeAll(async () => {
    // The test plays the user AND an attacker from one IP, more sign-in requests per minute than the default shared
    // per-IP budget (CREW_AUTH_RATE_LIMIT, proved in test/http) allows; the account limits are what it shows.
    server = await startE2eServer({ CREW_AUTH_RATE_LIMIT: '1000/minute' }, clock);
    ({ app, browser, baseUrl } = server);
  }, 300_000); // Chromium starts slowly on a busy machine

  afterAll(() => server?.close());

  /** Types the password on /login and lands on the code page. */
  async function passwordStep(page: Page, user: EnrolledUser): Promise<void> {
    await page.goto(`${baseUrl}/login`);
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${baseUrl}/login/two-factor`);
    await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
  }

  async function enterCode(page: Page, code: string, label = 'Code from your authenticator app'): Promise<void> {
    await page.getByLabel(label).fill(code);
    await page.getByRole('button', { name: 'Verify' }).click();
  }

  async function signOut(page: Page): Promise<void> {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${baseUrl}/login?notice=signed-out`);
  }

  it('password → code → home; backup code with the low-codes warning; lockout message; security events', async () => {
    const user = await enrolUser(app, clock, 'rosa'); // enabling used the current step
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    const page = await context.newPage();
    const cspViolations: string[] = [];
    page.on('console', (msg) => {
      if (/Content.Security.Policy|Refused to/i.test(msg.text())) cspViolations.push(msg.text());
    });

    // 1. Password, then the code page. The code of the step used to enable 2FA is refused as a replay (RFC 6238 §5.2);
    //    the next step's code signs in.
    await passwordStep(page, user);
    await expectAccessible(page, 'code step');
    await page.screenshot({ path: join(SHOTS, 'login-two-factor.png'), fullPage: true });
    clock.advanceSeconds(30);
    await enterCode(page, totpAt(user, clock, -1));
    await expect(page.getByRole('alert').textContent()).resolves.toContain(new AppError('invalid_code').message);
    await expectAccessible(page, 'code step: a reused code', { focused: '#code' });
    await enterCode(page, totpAt(user, clock));
    await page.waitForURL(`${baseUrl}/`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toContain(`Welcome, ${user.username}`);
    await expectAccessible(page, 'home');
    await signOut(page);

    // 2. Six backup codes used elsewhere (API), the seventh in the browser: a notice, and the warning (3 left).
    for (const code of user.backupCodes.slice(0, 6)) expect((await postCode(await startSignIn(app, user.username), code)).statusCode).toBe(200);
    await passwordStep(page, user);
    await page.getByRole('link', { name: 'Use a backup code instead' }).click();
    await page.waitForURL(`${baseUrl}/login/two-factor?method=backup`);
    await expectAccessible(page, 'code step: backup code');
    await enterCode(page, user.backupCodes[6]!, 'Backup code');
    await page.waitForURL(`${baseUrl}/?notice=backup-code`);
    await expect(page.locator('#notice').textContent()).resolves.toContain('You signed in with a backup code');
    await expect(page.locator('#low-backup-codes').textContent()).resolves.toContain('Only 3 backup codes left.');
    await expectAccessible(page, 'home: signed in with a backup code, 3 left');
    await page.screenshot({ path: join(SHOTS, 'signed-in-with-backup-code.png'), fullPage: true });
    await signOut(page);

    // 3. Ten wrong codes over two pending sign-ins (5 each) lock the account for 15 minutes (NIST SP 800-63B §5.2.2).
    for (let s = 0; s < 2; s++) {
      const attacker = await startSignIn(app, user.username);
      for (let i = 0; i < 5; i++) await postCode(attacker, wrongCode(user, clock, s * 5 + i));
    }
    await passwordStep(page, user);
    const lockout = page.locator('#lockout');
    await expect(lockout.textContent()).resolves.toContain('locked for 15 minutes');
    await expect(page.getByLabel('Code from your authenticator app').count()).resolves.toBe(0);
    await expectAccessible(page, 'code step: account locked', { focused: '#lockout' });
    await page.screenshot({ path: join(SHOTS, 'lockout.png'), fullPage: true });

    // 4. After the lockout: sign in again and read what happened on /settings/security.
    clock.advanceSeconds(15 * 60 + 30);
    await passwordStep(page, user);
    await enterCode(page, totpAt(user, clock));
    await page.waitForURL(`${baseUrl}/`);
    await page.getByRole('link', { name: 'Security', exact: true }).click();
    await page.waitForURL(`${baseUrl}/settings/security`);
    const events = (await page.locator('table.events').textContent()) ?? '';
    for (const label of ['Signed in with an authenticator code', 'Signed in with a backup code (3 left)', 'Wrong two-factor code', 'Two-factor sign-in locked for 15 minutes', 'Reused two-factor code refused']) {
      expect(events, label).toContain(label);
    }
    await expectAccessible(page, 'security settings with events');
    await page.screenshot({ path: join(SHOTS, 'security-events.png'), fullPage: true });

    expect(cspViolations).toEqual([]);
    await context.close();
  }, 600_000);
});
