// Bug: RequestAuth carried the 2FA state twice (twoFactorEnabled and twoFactor.enabled), and enabling 2FA updated only
// the first, so for the rest of that request the two disagreed (the policy gate read one, the pages the other). Now
// there is one field, and the renewal after enabling 2FA replaces it with the new status along with the new session.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mustEnrol, requireSession } from '../../src/http/plugins/require-session.ts';
import { renewSessionsAfterEnablingTwoFactor } from '../../src/http/session-renewal.ts';
import { generateTotp } from '../../src/modules/two-factor/totp.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, type TestApp } from './app-harness.ts';

// Enables 2FA and answers with what the REST of the same request sees in request.auth.
async function enableAndShowAuth(app: FastifyInstance): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onRequest', requireSession({ allowWithoutTwoFactor: true }));
    scope.post<{ Body: { code: string } }>('/api/test/enable-and-show-auth', async (request, reply) => {
      const before = { ...request.auth!.twoFactor, mustEnrol: mustEnrol(app.deps.config, request.auth!) };
      await app.services.enrollment.confirm(request.auth!.user, request.body.code);
      await renewSessionsAfterEnablingTwoFactor(request, reply);
      const auth = request.auth!;
      return { before, after: { ...auth.twoFactor, mustEnrol: mustEnrol(app.deps.config, auth) }, sessionId: auth.session.id };
    });
  });
}

describe.each(TEST_DIALECTS)('the request after enabling 2FA on %s', (kind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(kind, { CREW_REQUIRE_2FA: 'all' }, false, enableAndShowAuth);
  });
  afterAll(() => t.close());

  it('sees one 2FA status, the new one, together with the new session', async () => {
    const c = new TestClient(t.app);
    await c.json('POST', '/api/auth/register', { username: 'rena', password: GOOD_PASSWORD });
    const oldToken = c.cookies.get('crew_session');
    const { secret } = (await c.json('POST', '/api/2fa/setup', { password: GOOD_PASSWORD })).json();
    const res = await c.json('POST', '/api/test/enable-and-show-auth', { code: generateTotp(secret, t.clock.now()) });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.before).toMatchObject({ enabled: false, backupCodesRemaining: 0, mustEnrol: true });
    expect(body.after).toMatchObject({ enabled: true, backupCodesRemaining: 10, lockedUntil: null, mustEnrol: false });
    expect(c.cookies.get('crew_session')).not.toBe(oldToken);
    // The next request loads the same state from the database.
    const me = await c.json('GET', '/api/me');
    expect(me.json().twoFactor).toEqual({ enabled: true, backupCodesRemaining: 10 });
  });
});
