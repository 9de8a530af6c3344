/**
 * Threat: with TRUST_PROXY=true a client writes its own left-most X-Forwarded-For entry and becomes any IP it likes:
 * each made-up address gets a fresh per-IP budget (bypassing CREW_AUTH_RATE_LIMIT, OWASP ASVS 2.2.1) and the victim's
 * security events show forged IPs (ASVS 7.1). Rule: TRUST_PROXY is a hop count or the proxies' addresses; the client
 * IP is the right-most address not added by a trusted proxy, and `true` is refused at start-up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { listSecurityEvents } from '../../src/modules/audit/security-events.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { GOOD_PASSWORD, createTestApp, type TestApp } from './app-harness.ts';

const PROXY = '10.0.0.5';

/** Registers GET /test/ip answering the client IP as the app sees it. */
async function ipRoute(app: FastifyInstance): Promise<void> {
  app.get('/test/ip', async (request) => ({ ip: request.ip }));
}

async function ipSeen(t: TestApp, remoteAddress: string, forwardedFor?: string): Promise<string> {
  const headers = forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
  return (await t.app.inject({ method: 'GET', url: '/test/ip', remoteAddress, headers })).json().ip as string;
}

describe.each(TEST_DIALECTS)('TRUST_PROXY=1 on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, { TRUST_PROXY: '1', CREW_AUTH_RATE_LIMIT: '3/minute' }, false, ipRoute);
  });
  afterAll(() => t.close());

  it('takes the right-most X-Forwarded-For address (the one our proxy added); spoofed left-most entries are ignored', async () => {
    expect(await ipSeen(t, PROXY, '203.0.113.7')).toBe('203.0.113.7');
    expect(await ipSeen(t, PROXY, '1.2.3.4, 203.0.113.7')).toBe('203.0.113.7');
    expect(await ipSeen(t, PROXY, '9.9.9.9, 8.8.8.8, 203.0.113.7')).toBe('203.0.113.7');
    expect(await ipSeen(t, PROXY)).toBe(PROXY);
    expect(await ipSeen(t, '::ffff:10.0.0.5', '1.2.3.4, 203.0.113.7')).toBe('203.0.113.7');
  });

  it('a client reaching crew directly from a public address cannot supply its own X-Forwarded-For', async () => {
    expect(await ipSeen(t, '198.51.100.77', '1.1.1.1')).toBe('198.51.100.77');
  });

  it('a client rotating spoofed left-most entries still has one per-IP budget, and its events show its real IP', async () => {
    const userId = (
      await t.app.inject({ method: 'POST', url: '/api/auth/register', remoteAddress: PROXY, headers: { 'x-forwarded-for': '198.51.100.1' }, payload: { username: 'proxied', password: GOOD_PASSWORD } })
    ).json().user.id as number;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        remoteAddress: PROXY,
        headers: { 'x-forwarded-for': `100.64.0.${i + 1}, 203.0.113.50` },
        payload: { username: 'proxied', password: 'wrong password here' },
      });
      statuses.push(res.statusCode);
    }
    // Four "different" clients by their left-most entry, one real one: the 3/minute budget of 203.0.113.50 runs out.
    expect(statuses).toEqual([401, 401, 401, 429]);
    const events = await listSecurityEvents(t.deps.db, userId, 50);
    const ips = new Set(events.map((e) => e.ip));
    expect(ips.has('203.0.113.50')).toBe(true);
    expect([...ips].some((ip) => ip?.startsWith('100.64.'))).toBe(false);
  });
});

describe.each(TEST_DIALECTS)('TRUST_PROXY=2 (a load balancer in front of nginx) on %s', (kind) => {
  it('skips both private hops and takes the client the load balancer saw; a public hop is not skipped', async () => {
    const t = await createTestApp(kind, { TRUST_PROXY: '2' }, false, ipRoute);
    try {
      // client → load balancer 10.1.2.3 (appends the client) → nginx on 127.0.0.1 (appends 10.1.2.3) → crew
      expect(await ipSeen(t, '127.0.0.1', '6.6.6.6, 203.0.113.20, 10.1.2.3')).toBe('203.0.113.20');
      // a "load balancer" with a public address is not trusted by a hop count: list it instead
      expect(await ipSeen(t, '127.0.0.1', '6.6.6.6, 203.0.113.20, 198.51.100.99')).toBe('198.51.100.99');
    } finally {
      await t.close();
    }
  });
});

describe.each(TEST_DIALECTS)('TRUST_PROXY as addresses on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, { TRUST_PROXY: `${PROXY}, 10.1.0.0/16` }, false, ipRoute);
  });
  afterAll(() => t.close());

  it('believes X-Forwarded-For only from the listed proxies, skipping every trusted hop', async () => {
    expect(await ipSeen(t, PROXY, '6.6.6.6, 203.0.113.9')).toBe('203.0.113.9');
    expect(await ipSeen(t, PROXY, '6.6.6.6, 203.0.113.9, 10.1.2.3')).toBe('203.0.113.9'); // LB 10.1.2.3 → nginx 10.0.0.5
    expect(await ipSeen(t, '192.0.2.44', '6.6.6.6')).toBe('192.0.2.44'); // not a proxy: its header is ignored
  });
});

describe.each(TEST_DIALECTS)('TRUST_PROXY unset on %s', (kind) => {
  it('ignores X-Forwarded-For entirely', async () => {
    const t = await createTestApp(kind, {}, false, ipRoute);
    try {
      expect(await ipSeen(t, '192.0.2.10', '6.6.6.6')).toBe('192.0.2.10');
    } finally {
      await t.close();
    }
  });
});

describe('TRUST_PROXY parsing', () => {
  it.each([
    ['false', false],
    ['0', false],
    ['1', 1],
    ['2', 2],
    ['10.0.0.5', ['10.0.0.5']],
    ['127.0.0.1,10.20.0.0/16', ['127.0.0.1', '10.20.0.0/16']], // README "Behind a reverse proxy"

    ['10.0.0.5, 10.1.0.0/16,::1,fd00::/8,loopback', ['10.0.0.5', '10.1.0.0/16', '::1', 'fd00::/8', 'loopback']],
  ])('%s → %j', (value, expected) => {
    expect(loadConfig({ TRUST_PROXY: value }, '/tmp').trustProxy).toEqual(expected);
  });

  it('refuses true, explaining why and what to write instead', () => {
    let error: unknown;
    try {
      loadConfig({ TRUST_PROXY: 'true' }, '/tmp');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/^TRUST_PROXY: "true" is refused/);
    expect(message).toContain('any client can choose its own IP');
    expect(message).toContain('TRUST_PROXY=1');
  });

  it.each(['yes', '10.0.0.300', '10.0.0.0/33', '10.0.0.1,', 'example.com', '11'])('refuses %s naming TRUST_PROXY', (value) => {
    expect(() => loadConfig({ TRUST_PROXY: value }, '/tmp')).toThrow(/^TRUST_PROXY: /);
  });
});
