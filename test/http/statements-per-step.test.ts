// Pins the SQL statements each hot step runs, so the count cannot silently grow (issue: "make the 2FA step cheap").
// The statements are counted by a Kysely plugin on the app's real database (SQLite file, PostgreSQL server); every
// guarantee they carry is proved elsewhere (replay and backup-code compare-and-swap, counting before verifying, the
// pending sign-in cap: the *.security.test.ts files). Each line below is one round trip; none runs in a transaction.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createDeps } from '../../src/deps.ts';
import { buildApp } from '../../src/http/build-app.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { StatementCounter } from '../helpers/statement-counter.ts';
import { createMigratedDatabase, TEST_DIALECTS } from '../helpers/test-database.ts';
import { enrolUser, FIXED_START, postCode, startSignIn, totpAt, wrongCode } from '../helpers/two-factor-fixtures.ts';
import { GOOD_PASSWORD, TestClient } from './app-harness.ts';

/** The one read of a signed-in request: the session, its user and the user's 2FA row, joined. */
const LOAD_SESSION = 'select sessions+users+two_factor_auth';

describe.each(TEST_DIALECTS)('SQL statements per step on %s', (kind) => {
  const counter = new StatementCounter();
  const clock = new ManualClock(FIXED_START);
  let app: Awaited<ReturnType<typeof buildApp>>;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const database = await createMigratedDatabase(kind);
    const env: Record<string, string> = { DATABASE_URL: database.url, CREW_AUTH_RATE_LIMIT: '1000/minute' };
    if (kind === 'postgres') env.CREW_ENCRYPTION_KEY = randomBytes(32).toString('base64');
    const deps = createDeps(loadConfig(env, database.dir), database.open, { clock, logger: false });
    app = await buildApp({ ...deps, db: deps.db.withPlugin(counter) });
    await app.ready();
    cleanup = async () => {
      await app.close();
      await database.cleanup();
    };
  });
  afterAll(() => cleanup());

  it('a signed-in GET /api/me: one query', async () => {
    const c = new TestClient(app);
    await c.json('POST', '/api/auth/register', { username: 'counted', password: GOOD_PASSWORD });
    counter.take();
    expect((await c.json('GET', '/api/me')).statusCode).toBe(200);
    expect(counter.take()).toEqual([LOAD_SESSION]);
  });

  it('the TOTP sign-in step: 6 statements, from the pending session to the full one', async () => {
    const user = await enrolUser(app, clock, 'count');
    clock.advanceSeconds(30);
    const c = await startSignIn(app, user.username);
    counter.take();
    expect((await postCode(c, totpAt(user, clock))).statusCode).toBe(200);
    expect(counter.take()).toEqual([
      LOAD_SESSION,
      'update sessions', // reserve one of the pending sign-in's attempts
      'update two_factor_auth', // reserve an account attempt, returning the row (secret, last step, codes)
      'update two_factor_auth', // claim the time step by compare-and-swap, resetting the counters
      'insert security_events', // sign_in_with_code
      'update sessions', // the pending session becomes a full one under a new token
    ]);
  });

  it('a backup code at sign-in: the same 6; a wrong code: 4', async () => {
    const user = await enrolUser(app, clock, 'count');
    const c = await startSignIn(app, user.username);
    counter.take();
    expect((await postCode(c, wrongCode(user, clock))).statusCode).toBe(401);
    expect(counter.take()).toEqual([LOAD_SESSION, 'update sessions', 'update two_factor_auth', 'insert security_events']);
    expect((await postCode(c, user.backupCodes[0]!)).statusCode).toBe(200);
    expect(counter.take()).toEqual([LOAD_SESSION, 'update sessions', 'update two_factor_auth', 'update two_factor_auth', 'insert security_events', 'update sessions']);
  });

  it('malformed input at the code step: only the session read', async () => {
    const user = await enrolUser(app, clock, 'count');
    const c = await startSignIn(app, user.username);
    counter.take();
    expect((await postCode(c, 'abc')).statusCode).toBe(400);
    expect(counter.take()).toEqual([LOAD_SESSION]);
  });
});
