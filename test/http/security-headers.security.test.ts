/**
 * Threats: clickjacking, injected script or style, MIME sniffing, leaking URLs to other sites, cross-origin
 * embedding. The security headers are computed once at start-up (not by helmet per request), so this pins the exact
 * set and checks that every kind of answer carries all of it: pages, API answers, refusals, 404s and static files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { securityHeaderSet } from '../../src/http/plugins/security-headers.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, type TestApp } from './app-harness.ts';

/** What helmet 8 sets with our options (the CSP is ours; the rest are helmet's defaults minus COEP). */
const EXPECTED = {
  'content-security-policy':
    "default-src 'none';script-src 'self';style-src 'self';img-src 'self' data:;connect-src 'self';form-action 'self';frame-ancestors 'none';base-uri 'none'",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'same-origin',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'DENY',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};

describe('security headers computed once', () => {
  it('are exactly helmet’s set for our options, with a strict CSP', () => {
    const headers = securityHeaderSet();
    expect(headers).toEqual(EXPECTED);
    expect(headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(Object.isFrozen(headers)).toBe(true);
  });

  describe('on every kind of answer', () => {
    let t: TestApp;
    let signedIn: TestClient;
    beforeAll(async () => {
      t = await createTestApp('sqlite'); // headers do not depend on the engine
      signedIn = new TestClient(t.app);
      await signedIn.json('POST', '/api/auth/register', { username: 'hedy', password: GOOD_PASSWORD });
    });
    afterAll(() => t.close());

    const cases: Array<[string, () => Promise<{ statusCode: number; headers: Record<string, unknown> }>, number]> = [
      ['a page', () => t.app.inject({ method: 'GET', url: '/login' }), 200],
      ['a signed-in API answer', () => signedIn.json('GET', '/api/me'), 200],
      ['an API refusal', () => t.app.inject({ method: 'GET', url: '/api/me' }), 401],
      ['a 404', () => t.app.inject({ method: 'GET', url: '/no-such-page' }), 404],
      ['a static file', () => t.app.inject({ method: 'GET', url: '/static/style.css' }), 200],
      [
        'a cross-site POST refused by the origin check',
        () => t.app.inject({ method: 'POST', url: '/api/auth/login', headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, payload: '{}' }),
        403,
      ],
    ];
    it.each(cases)('%s', async (_name, send, status) => {
      const res = await send();
      expect(res.statusCode).toBe(status);
      for (const [name, value] of Object.entries(EXPECTED)) expect(res.headers[name], name).toBe(value);
      expect(res.headers['x-powered-by']).toBeUndefined();
    });

    it('API answers, refusals included, are never cached (they may carry secrets)', async () => {
      const answers = [
        await signedIn.json('GET', '/api/me'),
        await t.app.inject({ method: 'GET', url: '/api/me' }),
        await signedIn.request({ method: 'POST', url: '/api/2fa/setup', headers: { 'content-type': 'text/plain' }, payload: 'x' }),
      ];
      expect(answers.map((res) => res.statusCode)).toEqual([200, 401, 415]);
      for (const res of answers) expect(res.headers['cache-control']).toBe('no-store');
    });
  });
});
