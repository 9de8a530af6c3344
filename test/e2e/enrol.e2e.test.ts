// End to end in a real Chromium (Debian's /usr/bin/chromium, never a downloaded browser): register → security
// settings → Enable 2FA → decode the QR code from a screenshot with zbarimg → type the TOTP code → backup codes.
// Every page is checked by expectAccessible (axe-core, reflow, focus). Screenshots of each page go to docs/screenshots/.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTotp } from '../../src/modules/two-factor/totp.ts';
import { expectAccessible } from './accessibility-check.ts';
import { SHOTS, startE2eServer, type E2eServer } from './e2e-server.ts';


describe('enrolment in a real browser', () => {
  let server: E2eServer;
  let browser: Browser;
  let baseUrl: string;

  beforeAll(async () => {
    server = await startE2eServer({});
    ({ browser, baseUrl } = server);
  }, 300_000); // Chromium starts slowly on a busy machine

  afterAll(() => server?.close());

  it('register → Enable 2FA → scan QR → enter code → backup codes', async () => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    const page = await context.newPage();
    const cspViolations: string[] = [];
    page.on('console', (msg) => {
      if (/Content.Security.Policy|Refused to/i.test(msg.text())) cspViolations.push(msg.text());
    });

    await page.goto(`${baseUrl}/login`);
    await expectAccessible(page, 'sign in');
    await page.screenshot({ path: join(SHOTS, 'login.png'), fullPage: true });

    await page.goto(`${baseUrl}/register`);
    await page.getByLabel('Username').fill('quinn');
    await page.getByLabel('E-mail (optional)').fill('quinn@example.com');
    await page.getByLabel('Password').fill('a long and memorable passphrase');
    await expectAccessible(page, 'create an account, filled in');
    await page.screenshot({ path: join(SHOTS, 'register.png'), fullPage: true });
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${baseUrl}/`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toContain('Welcome, quinn');
    await expectAccessible(page, 'home, 2FA off');
    await page.screenshot({ path: join(SHOTS, 'home.png'), fullPage: true });

    await page.getByRole('link', { name: 'Security', exact: true }).click();
    await page.waitForURL(`${baseUrl}/settings/security`);
    await expectAccessible(page, 'security settings, 2FA off');
    await page.screenshot({ path: join(SHOTS, 'security-settings.png'), fullPage: true });

    // Re-authentication (issue 8): the set-up starts only with the account password.
    await page.getByLabel('Your password').fill('a long and memorable passphrase');
    await page.getByRole('button', { name: 'Enable 2FA' }).click();
    await page.waitForURL(`${baseUrl}/settings/security/2fa/setup`);
    await expectAccessible(page, 'set-up: QR code');
    await page.screenshot({ path: join(SHOTS, 'two-factor-setup.png'), fullPage: true });
    const qrPath = join(SHOTS, 'qr-code.png');
    await page.locator('#qr-code svg').screenshot({ path: qrPath });

    const uri = execFileSync('zbarimg', ['--raw', '-q', qrPath], { encoding: 'utf8' }).trim();
    expect(uri).toMatch(/^otpauth:\/\/totp\/Production%20Crew:quinn\?/);
    const secret = new URL(uri).searchParams.get('secret')!;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const manualKey = (await page.locator('#manual-key').textContent())!.replace(/\s+/g, '');
    expect(manualKey).toBe(secret);

    await page.getByLabel('Code from the app').fill('12345');
    await page.getByRole('button', { name: 'Verify and enable' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('Enter the 6-digit code');
    await expectAccessible(page, 'set-up: a 5-digit code', { focused: '#code' });
    await page.getByLabel('Code from the app').fill(generateTotp(secret, new Date()));
    await page.getByRole('button', { name: 'Verify and enable' }).click();
    await page.getByRole('heading', { name: 'Two-factor authentication is on' }).waitFor();
    const codes = await page.locator('#backup-codes code').allTextContents();
    expect(codes).toHaveLength(10);
    // copy.js (external, CSP-allowed) reveals the Copy button.
    await expect(page.getByRole('button', { name: 'Copy' }).isVisible()).resolves.toBe(true);
    const download = await page.getByRole('link', { name: 'Download as .txt' }).getAttribute('href');
    expect(decodeURIComponent(download!.replace(/^data:text\/plain;charset=utf-8,/, ''))).toContain(codes[0]);
    await expectAccessible(page, 'backup codes, shown once');
    await page.screenshot({ path: join(SHOTS, 'backup-codes.png'), fullPage: true });

    await page.getByRole('link', { name: 'I have saved my codes' }).click();
    await page.waitForURL(`${baseUrl}/settings/security`);
    await expect(page.locator('#two-factor-status').textContent()).resolves.toContain('Backup codes left: 10');
    await expectAccessible(page, 'security settings, 2FA on');
    await page.screenshot({ path: join(SHOTS, 'security-settings-enabled.png'), fullPage: true });

    expect(cspViolations).toEqual([]);
    await context.close();
  }, 600_000);
});
