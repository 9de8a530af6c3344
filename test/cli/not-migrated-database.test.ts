// Issue 8, finding 7: `users list` on a database crew never set up printed a raw "no such table". Every read-only
// command now says the database is not set up and what to run (exit 1), on both engines, and changes nothing.
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCrew, SPAWN_TEST_TIMEOUT_MS } from '../helpers/run-crew.ts';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';

const COMMANDS: Array<[args: string[], table: string]> = [
  [['users', 'list'], 'users'],
  [['2fa', 'status', 'ada'], 'users'],
  [['keys', 'status'], 'two_factor_auth'],
];

describe.each(TEST_DIALECTS)('read-only commands on a database crew never set up, on %s', { timeout: SPAWN_TEST_TIMEOUT_MS }, (kind) => {
  let test: TestDatabase;
  beforeEach(async () => {
    test = await createTestDatabase(kind);
    if (kind === 'sqlite') new BetterSqlite3(test.url).exec('CREATE TABLE unrelated (a)').close(); // an existing, foreign file
  });
  afterEach(async () => {
    await test.cleanup();
  });

  it('exit 1 saying it is not set up and to run `crew migrate`, never a raw "no such table"', async () => {
    const location = kind === 'sqlite' ? test.url : test.url.replace(/:[^:@/]*@/, ':***@');
    for (const [args, table] of COMMANDS) {
      const run = await runCrew(args, { env: { DATABASE_URL: test.url, CREW_ENCRYPTION_KEY: Buffer.alloc(32, 5).toString('base64') }, cwd: test.dir });
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr, args.join(' ')).toBe(`Error: the database at ${location} has no ${table} table: it is not set up for crew yet (run \`crew migrate\` to create the schema)\n`);
    }
  });
});
