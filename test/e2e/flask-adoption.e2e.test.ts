// End to end in a real Chromium (Debian's /usr/bin/chromium): a user of the earlier Flask app, adopted by `crew migrate`
// from a database made by the Flask app's own stack (issue 7), signs in on the pages with the old non-ASCII password and
// one of the old 8-hex-digit backup codes; the same code is refused the second time; then with pyotp's code for the
// old secret. Every state is checked by expectAccessible (axe-core, reflow, focus).
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openDatabase, type OpenDatabase } from '../../src/db/open-database.ts';
import { createDeps } from '../../src/deps.ts';
import { buildApp } from '../../src/http/build-app.ts';
import { AppError } from '../../src/lib/app-error.ts';
import { runnerFromConfig } from '../../src/migrate/runner-from-config.ts';
import { makeFlaskDatabase, readFlaskDatabase, type FlaskDatabase, type FlaskUserRecord } from '../helpers/flask-database.ts';
import { expectAccessible } from './accessibility-check.ts';
import { midStepClock } from './browser-steps.ts';
import { launchChromium } from './e2e-server.ts';

describe('an adopted Flask user in a real browser', () => {
  let flask: FlaskDatabase;
  let open: OpenDatabase;
  let app: FastifyInstance;
  let browser: Browser;
  let baseUrl: string;
  const clock = midStepClock();
  let pyotpCodes: Map<number, string>;

  beforeAll(async () => {
    flask = await makeFlaskDatabase('sqlite');
    // pyotp's codes for the secrets the Flask app stored (read before crew encrypts them), at the app clock's instant.
    const at = Math.floor(clock.now().getTime() / 1000);
    pyotpCodes = new Map((await readFlaskDatabase(flask, [at], { skipSecrets: true })).totp.map(({ userId, codes }) => [userId, codes[0]!]));
    const config = loadConfig({ DATABASE_URL: flask.url, CREW_ENCRYPTION_KEY: randomBytes(32).toString('base64'), CREW_AUTH_RATE_LIMIT: '1000/minute' }, flask.dir);
    open = await openDatabase(config.database);
    const report = await runnerFromConfig(open, config, { backup: false }).migrate();
    if (!report.ok) throw new Error(`crew migrate failed: ${report.lines.join('\n')}`);
    app = await buildApp(createDeps(config, open, { logger: false, clock }));
    await app.listen({ port: 0, host: 'localhost' });
    const address = app.server.address();
    baseUrl = `http://localhost:${typeof address === 'object' && address ? address.port : 0}`;
    browser = await launchChromium();
  }, 300_000); // Python, then Chromium, on a busy machine

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await open?.close();
    await flask?.cleanup();
  });

  async function passwordStep(page: Page, user: FlaskUserRecord): Promise<void> {
    await page.goto(`${baseUrl}/login`);
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${baseUrl}/login/two-factor`);
  }

  async function backupCodeStep(page: Page, code: string): Promise<void> {
    await page.getByRole('link', { name: 'Use a backup code instead' }).click();
    await page.waitForURL(`${baseUrl}/login/two-factor?method=backup`);
    await page.getByLabel('Backup code').fill(code);
    await page.getByRole('button', { name: 'Verify' }).click();
  }

  it('old password and old backup code (once), then pyotp\'s code for the old secret', async () => {
    // A user with 2FA on, old backup codes left, and a non-ASCII password (werkzeug hashed its UTF-8 bytes).
    const user = flask.plaintexts.users.find((u) => u.twoFactor?.state === 'enabled' && u.twoFactor.backupCodes.length > 0 && /[^\x00-\x7f]/.test(u.password))!;
    expect(user, 'the fixture has such a user').toBeDefined();
    const code = user.twoFactor!.backupCodes[0]!;
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    const page = await context.newPage();

    await passwordStep(page, user);
    await backupCodeStep(page, code);
    await page.waitForURL(`${baseUrl}/?notice=backup-code`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toContain(`Welcome, ${user.username}`);
    await expect(page.locator('#notice').textContent()).resolves.toContain('You signed in with a backup code');
    await expectAccessible(page, 'home: an adopted user signed in with an old backup code');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${baseUrl}/login?notice=signed-out`);

    // The same old code a second time: refused like any wrong code.
    await passwordStep(page, user);
    await backupCodeStep(page, code);
    await expect(page.getByRole('alert').textContent()).resolves.toContain(new AppError('invalid_code').message);
    await expectAccessible(page, 'code step: a spent old backup code', { focused: '#code' });

    // pyotp's code for the secret the Flask app stored.
    await passwordStep(page, user);
    await page.getByLabel('Code from your authenticator app').fill(pyotpCodes.get(user.id)!);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${baseUrl}/`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toContain(`Welcome, ${user.username}`);
    await context.close();
  }, 600_000);
});
