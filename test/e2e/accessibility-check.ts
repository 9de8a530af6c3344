// The accessibility check every browser test runs on every page state it visits: axe-core (WCAG 2.2 AA and best
// practice) plus what axe cannot see (reflow at 320 CSS px, the focus ring's contrast, where focus lands). One call:
//   await expectAccessible(page, 'login: wrong password', { focused: '#password' });
// The state is copied (its DOM as it is now) into a separate browser context with bypassCSP, used ONLY to inject
// axe-core: the page under test keeps the app's strict Content-Security-Policy, so its own checks stay honest.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type axe from 'axe-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { contrastRatio, over, parseCssColor, type Rgba } from './color-contrast.ts';

const WHITE: Rgba = { r: 255, g: 255, b: 255, a: 1 };

/** axe-core's minified build (650 kB, half of `axe.source`): parsed once per checked state, so size is time. */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The axe-core rule tags every state is checked against (WCAG 2.0/2.1/2.2 A and AA, and axe's best practices). */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] as const;

/** The viewports every state is checked at: a laptop, and 320 CSS px wide (1280 px at 400 % zoom, WCAG 1.4.10). */
export const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 320, height: 720 },
] as const;

/** WCAG 1.4.11 (non-text contrast) and 2.4.13 (focus appearance): a focus indicator needs 3:1 against what it sits on. */
export const MIN_FOCUS_RING_CONTRAST = 3;

/** What a state must also satisfy besides the rules every state meets. */
export interface AccessibleOptions {
  /**
   * The state is a form shown again with an error: focus must be on the element this CSS selector matches (the field
   * in error, or the error summary) in the page under test. Without it, the state must show no field in error, and
   * its h1 must be in view after loading (no autofocus that scrolls the heading away). Every state that shows an
   * error (`role="alert"` or `aria-invalid`) must have a title starting with "Error:".
   */
  focused?: string;
}

interface FocusStop {
  key: string;
  what: string;
  focusVisible: boolean;
  outlineStyle: string;
  outlineWidthPx: number;
  outlineColor: string;
  backgrounds: string[];
}

/**
 * Checks the page's current state with axe-core at every VIEWPORTS size and with the checks axe cannot do; throws
 * one readable list of every problem found, or returns when there is none.
 * @example await expectAccessible(page, 'security settings: wrong code to disable', { focused: '#disable-code' });
 */
export async function expectAccessible(page: Page, state: string, options: AccessibleOptions = {}): Promise<void> {
  const problems: string[] = [];
  if (options.focused) problems.push(...(await focusProblems(page, options.focused)));
  const url = page.url();
  const html = await page.content();
  const browser = page.context().browser();
  if (!browser) throw new TypeError('expectAccessible needs a page of a launched browser');
  problems.push(...(await checkCopy(browser, url, html, options)));
  if (problems.length > 0) {
    throw new Error(`Accessibility problems in "${state}" (${url}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Whether focus is where an error state must put it, waiting for autofocus to run. */
async function focusProblems(page: Page, selector: string): Promise<string[]> {
  try {
    await page.waitForFunction((s) => document.activeElement?.matches(s) === true, selector, { timeout: 5000 });
    return [];
  } catch {
    const actual = await page.evaluate(() => {
      const el = document.activeElement;
      return el ? `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}` : 'nothing';
    });
    return [`focus should be on ${selector} after the error, but it is on ${actual}`];
  }
}

/**
 * Loads a copy of the state in a fresh bypassCSP context, at the narrowest viewport first (so the after-loading checks
 * see a phone), then resizes through the others; runs every check at each size.
 */
async function checkCopy(browser: Browser, url: string, html: string, options: AccessibleOptions): Promise<string[]> {
  const [first, ...others] = [...VIEWPORTS].sort((a, b) => a.width - b.width);
  const context = await browser.newContext({ bypassCSP: true, viewport: first! });
  try {
    // The copy is served at the page's own URL, so its stylesheet, script and favicon load from the app as they did.
    await context.route((u) => u.href === url, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
      // Chromium's own advice on forms, e.g. "Password forms should have (optionally hidden) username fields".
      if ((message.type() as string) === 'verbose' && message.text().startsWith('[DOM]')) problems.push(`Chromium: ${message.text()}`);
    });
    const formIssues = await chromiumFormIssues(context, page);
    page.on('pageerror', (error) => problems.push(`script error: ${error.message}`));
    page.on('response', (response) => {
      if (response.status() >= 400 && response.url() !== url) problems.push(`${response.url()} answered ${response.status()}`);
    });
    await page.addInitScript({ content: DESCRIBE_ELEMENT });
    await page.goto(url, { waitUntil: 'load' });
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))); // autofocus runs
    await page.addScriptTag({ content: AXE_SOURCE });
    for (const viewport of [first!, ...others]) {
      const afterLoading = viewport === first;
      if (!afterLoading) await page.setViewportSize(viewport);
      const found = [
        ...(await pageRuleProblems(page, { expectError: options.focused !== undefined, afterLoading })),
        ...(await axeProblems(page)),
        ...(await focusRingProblems(page)),
      ];
      problems.push(...found.map((p) => `[${viewport.width}×${viewport.height}] ${p}`));
    }
    problems.push(...(await formIssues())); // last, so issues Chromium reports a little after loading are in
    return problems;
  } finally {
    await context.close();
  }
}

/**
 * Collects the form problems Chromium reports in DevTools' Issues panel (a field with neither id nor name, a label
 * pointing at nothing, a bad autocomplete value…), each with the element it names; call before loading the page.
 */
async function chromiumFormIssues(context: BrowserContext, page: Page): Promise<() => Promise<string[]>> {
  const cdp = await context.newCDPSession(page);
  const found: Array<Promise<string>> = [];
  cdp.on('Audits.issueAdded', ({ issue }) => {
    const details = issue.details.genericIssueDetails;
    if (issue.code !== 'GenericIssue' || !details?.errorType.startsWith('Form')) return;
    const described = details.violatingNodeId === undefined
      ? Promise.resolve('')
      : cdp.send('DOM.describeNode', { backendNodeId: details.violatingNodeId }).then(
          ({ node }) => ` on <${node.localName} ${(node.attributes ?? []).join(' ').slice(0, 120)}>`,
          () => '',
        );
    found.push(described.then((where) => `Chromium form issue ${details.errorType}${where}`));
  });
  await cdp.send('Audits.enable');
  return async () => [...new Set(await Promise.all(found))];
}

/** axe-core's violations, one line per rule and element, with its help text. */
async function axeProblems(page: Page): Promise<string[]> {
  const violations = await page.evaluate(async (tags) => {
    const result = await window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary ?? ''}`) }));
  }, [...AXE_TAGS]);
  return violations.flatMap((v) => v.nodes.map((node) => `axe ${v.id} (${v.impact ?? 'n/a'}), ${v.help}: ${node.replace(/\s+/g, ' ')}`));
}

/** Reflow, error titles, the error fields' wiring and (right after loading) the heading in view. */
async function pageRuleProblems(page: Page, when: { expectError: boolean; afterLoading: boolean }): Promise<string[]> {
  return page.evaluate(({ expectError, afterLoading }) => {
    const problems: string[] = [];
    const root = document.documentElement;
    // WCAG 1.4.10 Reflow: no sideways scrolling of the page; wide content may scroll only inside its own region.
    if (root.scrollWidth > root.clientWidth) {
      const inScroller = (el: Element) => {
        for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) if (getComputedStyle(p).overflowX !== 'visible') return true;
        return false;
      };
      const culprits = new Set<Element>();
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node && culprits.size < 3; node = walker.nextNode()) {
        const range = document.createRange();
        range.selectNodeContents(node);
        const parent = node.parentElement;
        if (parent && range.getBoundingClientRect().right > root.clientWidth + 0.5 && !inScroller(parent)) culprits.add(parent);
      }
      for (const el of document.body.querySelectorAll('*')) {
        if (culprits.size < 3 && el.getBoundingClientRect().right > root.clientWidth + 0.5 && !inScroller(el) && el.children.length === 0) culprits.add(el);
      }
      const named = [...culprits].map((el) => `${describeElement(el)} (right edge ${Math.round(el.getBoundingClientRect().right)} px)`);
      problems.push(`the page scrolls sideways by ${root.scrollWidth - root.clientWidth} px: ${named.join('; ')}`);
    }
    const invalid = [...document.querySelectorAll('[aria-invalid="true"]')];
    for (const field of invalid) {
      const ids = (field.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean);
      const described = ids.map((id) => document.getElementById(id)?.textContent?.trim() ?? '').filter(Boolean);
      if (ids.length === 0 || described.length !== ids.length) problems.push(`${describeElement(field)} is aria-invalid but its aria-describedby "${ids.join(' ')}" does not point at the error text`);
    }
    const showsError = invalid.length > 0 || document.querySelector('[role="alert"]') !== null;
    if (showsError && !document.title.startsWith('Error:')) problems.push(`a page showing an error should have a title starting with "Error:", it is "${document.title}"`);
    if (invalid.length > 0 && !expectError) problems.push(`fields in error (${invalid.map(describeElement).join(', ')}) but the test did not say where focus goes (option "focused")`);
    if (afterLoading && !expectError) {
      const h1 = document.querySelector('h1');
      const r = h1?.getBoundingClientRect();
      if (!h1 || !r) problems.push('the page has no h1');
      else if (r.top < 0 || r.bottom > window.innerHeight) problems.push(`the h1 "${h1.textContent?.trim()}" is out of view after loading (top ${Math.round(r.top)} px): an autofocus scrolled it away?`);
    }
    return problems;
  }, when);
}

/**
 * Tabs through every focusable element (a full cycle) and checks each one's focus ring from its computed styles:
 * visible (:focus-visible, an outline of at least 2 px, WCAG 2.4.13) and at least 3:1 against the background it sits on.
 */
async function focusRingProblems(page: Page): Promise<string[]> {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    await page.keyboard.press('Tab');
    const stop: FocusStop | null = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const style = getComputedStyle(el);
      const backgrounds: string[] = [];
      // The ring is drawn outside the element (outline-offset), over its parent's background.
      for (let p = el.parentElement; p; p = p.parentElement) backgrounds.push(getComputedStyle(p).backgroundColor);
      // A mark on the copy's element, so two alike elements are still told apart and a full cycle is recognised.
      const marked = el as HTMLElement;
      marked.dataset.focusStop ??= String(document.querySelectorAll('[data-focus-stop]').length);
      return {
        key: marked.dataset.focusStop,
        what: describeElement(el),
        focusVisible: el.matches(':focus-visible'),
        outlineStyle: style.outlineStyle,
        outlineWidthPx: parseFloat(style.outlineWidth),
        outlineColor: style.outlineColor,
        backgrounds,
      };
    });
    if (!stop) continue;
    if (seen.has(stop.key)) break;
    seen.add(stop.key);
    if (!stop.focusVisible) problems.push(`${stop.what} does not match :focus-visible when reached with Tab`);
    else if (stop.outlineStyle === 'none' || stop.outlineWidthPx < 2) problems.push(`${stop.what} has no focus outline of at least 2 px (${stop.outlineStyle} ${stop.outlineWidthPx}px)`);
    else {
      const background = effectiveBackground(stop.backgrounds);
      const ratio = contrastRatio(over(parseCssColor(stop.outlineColor), background), background);
      if (ratio < MIN_FOCUS_RING_CONTRAST) problems.push(`${stop.what}: focus ring ${stop.outlineColor} has ${ratio.toFixed(2)}:1 against its background (needs ${MIN_FOCUS_RING_CONTRAST}:1)`);
    }
  }
  if (seen.size === 0) problems.push('Tab reached no element');
  return problems;
}

/** The colour seen behind an element: its ancestors' backgrounds (nearest first) laid over the white canvas. */
function effectiveBackground(nearestFirst: readonly string[]): Rgba {
  return [...nearestFirst].reverse().reduce((base, css) => over(parseCssColor(css), base), WHITE);
}

// A page-side helper naming an element in messages (`input#code`, `a "Security"`); installed before the page loads.
const DESCRIBE_ELEMENT = `window.describeElement = (el) => {
  if (!el) return 'nothing';
  if (el === document.body) return '<body>';
  const id = el.id ? '#' + el.id : '';
  const text = (el.getAttribute('aria-label') || el.textContent || el.getAttribute('value') || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
  return el.tagName.toLowerCase() + id + (text ? ' "' + text + '"' : '');
};`;

declare global {
  interface Window {
    axe: typeof axe;
  }
  function describeElement(el: Element | null): string;
}
