// Small steps the browser tests share.
import type { Page } from 'playwright-core';
import { ManualClock } from '../../src/lib/clock.ts';

/**
 * Fills fields by their exact labels, clicks the button with that exact name and waits for the answer page to load.
 * @example await submitForm(page, { Username: 'rosa', Password: 'a long passphrase' }, 'Sign in');
 */
export async function submitForm(page: Page, fields: Record<string, string>, button: string): Promise<void> {
  for (const [label, value] of Object.entries(fields)) await page.getByLabel(label, { exact: true }).fill(value);
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: button, exact: true }).click()]);
}

/** A hand-moved clock 10 s into the current 30 s TOTP step, so codes one step either side are unambiguous. */
export function midStepClock(): ManualClock {
  return new ManualClock(new Date(Math.floor(Date.now() / 30_000) * 30_000 + 10_000));
}
