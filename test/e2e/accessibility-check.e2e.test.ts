// The accessibility check itself, on pages made to fail: each problem it exists to catch must make it throw, with a
// line that says what and where; and a page without problems must pass. Without this, a check that silently stopped
// checking (a selector that matches nothing, a rule set that never loads) would keep every other browser test green.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible } from './accessibility-check.ts';
import { launchChromium } from './e2e-server.ts';

const GOOD_PAGE = `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fine</title><style>:focus-visible { outline: 3px solid #1d2330; outline-offset: 2px }</style></head>
<body><main><h1>A fine page</h1><form><label for="name">Name</label> <input id="name" autocomplete="name"> <button>Send</button></form></main></body></html>`;

const BAD_PAGE = `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bad</title><style>:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px } .wide { width: 600px }</style></head>
<body><main><h1>A bad page</h1><p class="wide">Six hundred pixels wide</p>
<input id="unlabelled"> <input id="code" aria-label="Code" aria-invalid="true"> <a href="#top">A link</a>
<form method="post"><input type="password" autocomplete="current-password" aria-label="Password"></form></main></body></html>`;

const SCROLLED_PAGE = `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Scrolled</title></head><body><main><h1>Heading</h1><p style="height: 3000px">Long</p>
<label for="far">Far</label> <input id="far" autofocus></main></body></html>`;

describe('expectAccessible finds what it is there to find', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 300_000);
  afterAll(() => browser?.close());

  /** A page in its own context showing `html` at a URL that is answered from the test (no server needed). */
  async function show(html: string): Promise<Page> {
    const context = await browser.newContext();
    const url = 'http://localhost:9/fixture';
    await context.route((u) => u.href === url, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: html }));
    const page = await context.newPage();
    await page.goto(url);
    return page;
  }

  it('a page without problems passes', async () => {
    const page = await show(GOOD_PAGE);
    await expect(expectAccessible(page, 'good')).resolves.toBeUndefined();
  }, 300_000);

  it('names an axe violation, sideways scrolling, a weak focus ring, a field in error without its message, Chromium form advice', async () => {
    const page = await show(BAD_PAGE);
    const error = await expectAccessible(page, 'bad').then(() => null, (e: Error) => e.message);
    expect(error).toContain('Accessibility problems in "bad"');
    expect(error).toMatch(/\[320×720\] axe label \(critical\), Form elements must have labels: #unlabelled/);
    expect(error).toMatch(/\[320×720\] the page scrolls sideways by \d+ px: p "Six hundred pixels wide"/);
    expect(error).not.toMatch(/\[1280×800\] the page scrolls sideways/);
    expect(error).toMatch(/\[1280×800\] a "A link": focus ring rgb\(255, 191, 71\) has 1\.64:1 against its background \(needs 3:1\)/);
    expect(error).toMatch(/input#code "Code" is aria-invalid but its aria-describedby "" does not point at the error text/);
    expect(error).toMatch(/a page showing an error should have a title starting with "Error:", it is "Bad"/);
    expect(error).toMatch(/fields in error \(input#code "Code"\) but the test did not say where focus goes/);
    expect(error).toContain('Chromium: [DOM] Password forms should have (optionally hidden) username fields');
    expect(error).toMatch(/Chromium form issue FormEmptyIdAndNameAttributesForInputError on <input type password autocomplete current-password aria-label Password>/);
  }, 300_000);

  it('an error state: says where focus is when it is not on the field in error', async () => {
    const page = await show(BAD_PAGE);
    const error = await expectAccessible(page, 'bad', { focused: '#code' }).then(() => null, (e: Error) => e.message);
    expect(error).toContain('focus should be on #code after the error, but it is on body');
  }, 300_000);

  it('an autofocus that scrolls the heading out of view on loading', async () => {
    const page = await show(SCROLLED_PAGE);
    const error = await expectAccessible(page, 'scrolled').then(() => null, (e: Error) => e.message);
    expect(error).toMatch(/\[320×720\] the h1 "Heading" is out of view after loading \(top -\d+ px\)/);
  }, 300_000);
});
