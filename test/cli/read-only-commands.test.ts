import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCrew, SPAWN_TEST_TIMEOUT_MS } from '../helpers/run-crew.ts';
import { createTestDatabase, loadCrew010Database, PG_ADMIN_URL, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';

// Commands that only read must never create a database: `DATABASE_URL=typo.db crew db verify` used to
// create an empty file and report "✓ Schema matches all 0 applied migration(s)".
const READ_ONLY_COMMANDS = [['db', 'verify'], ['migrate', '--list'], ['db', 'backup'], ['users', 'list'], ['2fa', 'status', 'ada'], ['keys', 'status']];

describe.each(TEST_DIALECTS)('read-only commands on %s', { timeout: SPAWN_TEST_TIMEOUT_MS }, (kind) => {
  let test: TestDatabase;
  beforeEach(async () => {
    test = await createTestDatabase(kind);
  });
  afterEach(async () => {
    await test.cleanup();
  });
  const crew = (args: string[], url: string) => runCrew(args, { env: { DATABASE_URL: url, CREW_ENCRYPTION_KEY: Buffer.alloc(32, 4).toString('base64') }, cwd: test.dir });

  it('exit 1 naming the missing database, and create nothing', async () => {
    let url: string;
    let expected: string;
    if (kind === 'sqlite') {
      url = join(test.dir, 'typo.db');
      expected = `no database at ${url} (set DATABASE_URL, or run \`crew migrate\` to create it)`;
    } else {
      const missing = new URL(PG_ADMIN_URL);
      missing.pathname = `/crew_missing_${process.pid}`;
      url = missing.toString();
      expected = `no database at ${url} (set DATABASE_URL, or create it with \`createdb crew_missing_${process.pid}\` and run \`crew migrate\`)`;
    }
    for (const args of READ_ONLY_COMMANDS) {
      const run = await crew(args, url);
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr, args.join(' ')).toBe(`Error: ${expected}\n`);
      expect(readdirSync(test.dir), args.join(' ')).toEqual([]);
    }
    const json = await crew(['db', 'verify', '--json'], url);
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'no_database', message: expected } });
  });

  it('read an existing database without changing it', async () => {
    // A database made by crew 0.1.0; on SQLite it is in the default rollback-journal mode, as sqlite3 leaves it.
    loadCrew010Database(test);
    for (const args of READ_ONLY_COMMANDS) {
      const run = await crew(args, test.url);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(0);
    }
    if (kind === 'sqlite') {
      const db = new BetterSqlite3(test.url, { readonly: true });
      expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
      db.close();
      // No key file either: reading needs no key.
      expect(readdirSync(test.dir).sort()).toEqual(['backups', 'production_crew.db']);
    }
  });
});
