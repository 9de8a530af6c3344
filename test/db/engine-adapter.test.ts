import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseMissingError, openDatabase, type OpenDatabase } from '../../src/db/open-database.ts';
import { MigrationLockTimeoutError } from '../../src/db/engine-adapter.ts';
import { createTestDatabase, restoreBackup, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';

// Every engine adapter keeps the same promises; these run against a real SQLite file and a real PostgreSQL server.

describe.each(TEST_DIALECTS)('the %s engine adapter', (kind) => {
  let test: TestDatabase;
  let open: OpenDatabase;
  beforeEach(async () => {
    test = await createTestDatabase(kind);
    open = await openDatabase(test.config);
    await sql`CREATE TABLE things (id integer PRIMARY KEY, label text NOT NULL)`.execute(open.db);
  });
  afterEach(async () => {
    await open.close();
    await test.cleanup();
  });
  const count = async () => Number((await sql<{ n: number }>`SELECT count(*) AS n FROM things`.execute(open.db)).rows[0]!.n);

  it('commits a write transaction, and rolls all of it back when it throws', async () => {
    await open.adapter.writeTransaction(open.db, async (trx) => {
      await sql`INSERT INTO things VALUES (1, 'kept')`.execute(trx);
    });
    await expect(
      open.adapter.writeTransaction(open.db, async (trx) => {
        await sql`INSERT INTO things VALUES (2, 'lost')`.execute(trx);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await count()).toBe(1);
  });

  it('reads the live schema', async () => {
    expect(await open.adapter.columnsOf(open.db, 'things')).toEqual(['id', 'label']);
    expect(await open.adapter.columnsOf(open.db, 'nothing_here')).toBeNull();
    expect(await open.adapter.listTables(open.db)).toContain('things');
    expect(open.adapter.columnType('timestamp')).toBe(kind === 'postgres' ? 'timestamptz' : 'timestamp');
    expect(open.adapter.databaseFile).toBe(kind === 'sqlite' ? test.url : null);
  });

  it('opened read-only, refuses every write', async () => {
    const reader = await openDatabase(test.config, { mustExist: true, readOnly: true });
    try {
      expect(await reader.adapter.columnsOf(reader.db, 'things')).toEqual(['id', 'label']);
      await expect(sql`INSERT INTO things VALUES (3, 'no')`.execute(reader.db)).rejects.toThrow(kind === 'postgres' ? /read-only transaction/ : /readonly/);
    } finally {
      await reader.close();
    }
    expect(await count()).toBe(0);
  });

  it('refuses a missing database when it must exist, creating nothing', async () => {
    const config = kind === 'sqlite' ? { kind, path: join(test.dir, 'typo.db') } : { kind, url: test.url.replace(/\/[^/]+$/, '/crew_no_such_db') };
    await expect(openDatabase(config as typeof test.config, { mustExist: true })).rejects.toBeInstanceOf(DatabaseMissingError);
    if (kind === 'sqlite') expect(existsSync(join(test.dir, 'typo.db'))).toBe(false);
  });

  it('writes a backup that restores to the same data', async () => {
    await sql`INSERT INTO things VALUES (7, 'backed up')`.execute(open.db);
    const path = await open.adapter.backup({ keep: 2, dir: join(test.dir, 'backups'), now: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)) });
    const name = kind === 'sqlite' ? 'production_crew-20260102T030405006Z.db' : `postgres-${new URL(test.url).pathname.slice(1)}-20260102T030405006Z.sql`;
    expect(path).toBe(join(test.dir, 'backups', name));
    const restored = await restoreBackup(kind, path);
    try {
      expect(await restored.tables()).toContain('things');
    } finally {
      await restored.cleanup();
    }
  });

  it('lets one migration lock holder in at a time, naming the holder to the one that waits', async () => {
    const other = await openDatabase(test.config);
    try {
      const waits: string[] = [];
      await open.adapter.withMigrationLock(open.db, {}, async () => {
        await expect(other.adapter.withMigrationLock(other.db, { timeoutMs: 300, onWait: (h) => waits.push(h) }, async () => 'entered')).rejects.toBeInstanceOf(MigrationLockTimeoutError);
      });
      expect(waits).toHaveLength(1);
      expect(waits[0]).toMatch(kind === 'sqlite' ? new RegExp(`^pid ${process.pid} on `) : /^PostgreSQL session pid \d+ \(crew\)$/);
      // Released: the other one gets in at once.
      expect(await other.adapter.withMigrationLock(other.db, { timeoutMs: 300 }, async () => 'entered')).toBe('entered');
    } finally {
      await other.close();
    }
  });
});

describe.runIf(TEST_DIALECTS.includes('postgres'))('PostgreSQL type parsers', () => {
  it('read int8 as a number through crew’s pool only, leaving pg’s global parsers alone', async () => {
    const test = await createTestDatabase('postgres');
    const open = await openDatabase(test.config);
    const client = new pg.Client({ connectionString: test.url });
    try {
      const viaCrew = await sql<{ n: unknown }>`SELECT 9007199254740991::int8 AS n`.execute(open.db);
      expect(viaCrew.rows[0]!.n).toBe(9007199254740991);
      // Another pg user in the same process still gets pg's default: int8 as a string.
      await client.connect();
      expect((await client.query('SELECT 5::int8 AS n')).rows[0].n).toBe('5');
      expect(pg.types.getTypeParser(20, 'text')('5')).toBe('5');
    } finally {
      await client.end();
      await open.close();
      await test.cleanup();
    }
  });
});
