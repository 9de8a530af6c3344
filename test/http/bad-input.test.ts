import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, type TestApp } from './app-harness.ts';

// Every JSON endpoint with a body: missing, wrong-type, huge or non-JSON input → 4xx in the contract's error shape,
// never 5xx, and nothing written.
function expectErrorShape(res: LightMyRequestResponse, status: number): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json();
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
}

describe.each(TEST_DIALECTS)('bad input on %s', (kind) => {
  let t: TestApp;
  let signedIn: TestClient;

  const counts = async () => {
    const n = async (table: 'users' | 'sessions' | 'two_factor_auth') =>
      Number((await t.deps.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    return { users: await n('users'), sessions: await n('sessions'), twoFactor: await n('two_factor_auth') };
  };

  beforeAll(async () => {
    t = await createTestApp(kind);
    signedIn = new TestClient(t.app);
    await signedIn.json('POST', '/api/auth/register', { username: 'frank', password: GOOD_PASSWORD });
    await signedIn.json('POST', '/api/2fa/setup', { password: GOOD_PASSWORD });
  });
  afterAll(() => t.close());

  const endpoints: Array<{ url: string; valid: Record<string, unknown>; wrongTypes: unknown[] }> = [
    {
      url: '/api/auth/register',
      valid: { username: 'newuser', password: GOOD_PASSWORD },
      wrongTypes: [{ username: 1, password: GOOD_PASSWORD }, { username: 'newuser', password: ['x'] }, { username: null, password: null }, { username: 'newuser', password: GOOD_PASSWORD, email: 5 }, { username: 'newuser' }, {}],
    },
    {
      url: '/api/auth/login',
      valid: { username: 'frank', password: GOOD_PASSWORD },
      wrongTypes: [{ username: 'frank' }, { password: GOOD_PASSWORD }, { username: {}, password: GOOD_PASSWORD }, { username: 'frank', password: 12345678 }, {}],
    },
    {
      url: '/api/2fa/enable',
      valid: { code: '123456' },
      wrongTypes: [{ code: 123456 }, { code: null }, { code: ['123456'] }, { code: true }, {}],
    },
  ];

  for (const { url, valid, wrongTypes } of endpoints) {
    it(`${url}: non-JSON bodies → 415`, async () => {
      const before = await counts();
      for (const [type, payload] of [
        ['text/plain', JSON.stringify(valid)],
        ['application/x-www-form-urlencoded', new URLSearchParams(valid as Record<string, string>).toString()],
        ['multipart/form-data; boundary=x', '--x--'],
        ['application/xml', '<a/>'],
      ] as const) {
        expectErrorShape(await signedIn.request({ method: 'POST', url, payload, headers: { 'content-type': type } }), 415);
      }
      expectErrorShape(await signedIn.request({ method: 'POST', url, payload: JSON.stringify(valid) }), 415);
      expect(await counts()).toEqual(before);
    });

    it(`${url}: malformed or empty JSON → 400`, async () => {
      const before = await counts();
      for (const payload of ['{', '{"username": }', 'null', '"text"', '[]', '42']) {
        expectErrorShape(await signedIn.request({ method: 'POST', url, payload, headers: { 'content-type': 'application/json' } }), 400);
      }
      expectErrorShape(await signedIn.request({ method: 'POST', url, headers: { 'content-type': 'application/json' } }), 400);
      expectErrorShape(await signedIn.request({ method: 'POST', url }), 400);
      expect(await counts()).toEqual(before);
    });

    it(`${url}: missing fields and wrong types → 400`, async () => {
      const before = await counts();
      for (const payload of wrongTypes) {
        const res = await signedIn.request({ method: 'POST', url, payload: JSON.stringify(payload), headers: { 'content-type': 'application/json' } });
        expectErrorShape(res, 400);
        expect(res.json().error.code).toBe('invalid_input');
      }
      expect(await counts()).toEqual(before);
    });

    it(`${url}: huge bodies → 413, long strings → 400`, async () => {
      const before = await counts();
      const huge = JSON.stringify({ ...valid, filler: 'x'.repeat(64 * 1024) });
      expectErrorShape(await signedIn.request({ method: 'POST', url, payload: huge, headers: { 'content-type': 'application/json' } }), 413);
      const long = Object.fromEntries(Object.keys(valid).map((k) => [k, 'a'.repeat(5000)]));
      expectErrorShape(await signedIn.request({ method: 'POST', url, payload: JSON.stringify(long), headers: { 'content-type': 'application/json' } }), 400);
      expect(await counts()).toEqual(before);
    });
  }

  it('body-less POST endpoints refuse a non-JSON body (415) and a form post from another site (403)', async () => {
    for (const url of ['/api/2fa/setup', '/api/auth/logout']) {
      expectErrorShape(await signedIn.request({ method: 'POST', url, payload: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415);
      const cross = await signedIn.request({ method: 'POST', url, headers: { origin: 'https://evil.example' } });
      expectErrorShape(cross, 403);
      expect(cross.json().error.code).toBe('csrf_invalid');
    }
    expectErrorShape(await signedIn.request({ method: 'POST', url: '/api/auth/login', payload: {}, headers: { 'sec-fetch-site': 'cross-site' } }), 403);
  });

  it('JSON with a charset parameter is accepted; extra fields are ignored', async () => {
    const res = await new TestClient(t.app).request({
      method: 'POST',
      url: '/api/auth/login',
      payload: JSON.stringify({ username: 'frank', password: GOOD_PASSWORD, admin: true }),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'authenticated', user: { id: expect.any(Number), username: 'frank' }, failedAttemptsSinceLastSignIn: expect.any(Number) });
  });

  it('wrong methods and unknown paths → 404 in the error shape', async () => {
    expectErrorShape(await signedIn.request({ method: 'GET', url: '/api/auth/login' }), 404);
    expectErrorShape(await signedIn.request({ method: 'DELETE', url: '/api/me' }), 404);
  });
});
