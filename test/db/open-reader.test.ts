import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseMissingError, openDatabase, openReader } from '../../src/db/open-database.ts';
import { createMigratedDatabase, createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';

// `crew migrate --list` reads through openReader (no Kysely on SQLite, for start-up time): it must refuse and read
// exactly as the adapter's read-only opening does, and never write.
describe.each(TEST_DIALECTS)('openReader on %s', (kind) => {
  let test: Awaited<ReturnType<typeof createMigratedDatabase>>;
  beforeEach(async () => {
    test = await createMigratedDatabase(kind);
  });
  afterEach(async () => {
    await test.cleanup();
  });

  it('reads columns and rows as the adapter does', async () => {
    const reader = await openReader(test.config);
    try {
      expect(await reader.columnsOf('crew_migrations')).toEqual(await test.open.adapter.columnsOf(test.open.db, 'crew_migrations'));
      expect(await reader.columnsOf('no_such_table')).toBeNull();
      const rows = await reader.selectAll('SELECT id FROM crew_migrations ORDER BY id');
      expect(rows.map((r) => r.id)).toEqual((await test.open.db.selectFrom('crew_migrations').select('id').orderBy('id').execute()).map((r) => r.id));
    } finally {
      await reader.close();
    }
  });

  it('cannot write', async () => {
    const reader = await openReader(test.config);
    try {
      await expect(reader.selectAll('DELETE FROM crew_migrations RETURNING id')).rejects.toThrow(/read-?only/i);
    } finally {
      await reader.close();
    }
    expect((await test.open.db.selectFrom('crew_migrations').select('id').execute()).length).toBeGreaterThan(0);
  });
});

describe('openReader on SQLite: refusals', () => {
  let empty: TestDatabase;
  let dir: string;
  beforeEach(async () => {
    empty = await createTestDatabase('sqlite');
    dir = empty.dir;
  });
  afterEach(async () => {
    await empty.cleanup();
  });

  it('a missing file: the same DatabaseMissingError as the adapter, and no file is created', async () => {
    const config = { kind: 'sqlite' as const, path: join(dir, 'typo.db') };
    const viaAdapter = await openDatabase(config, { readOnly: true }).catch((e: unknown) => e);
    const viaReader = await openReader(config).catch((e: unknown) => e);
    expect(viaReader).toBeInstanceOf(DatabaseMissingError);
    expect((viaReader as Error).message).toBe((viaAdapter as Error).message);
    expect(readdirSync(dir)).not.toContain('typo.db');
  });

  it('a file that is not a database: the same message as the adapter, and the file is left as it was', async () => {
    const path = join(dir, 'notes.db');
    writeFileSync(path, 'not a database, just notes\n'.repeat(200));
    const viaAdapter = await openDatabase({ kind: 'sqlite', path }, { readOnly: true }).catch((e: unknown) => e);
    const viaReader = await openReader({ kind: 'sqlite', path }).catch((e: unknown) => e);
    expect((viaReader as Error).message).toBe(`${path} is not a SQLite database`);
    expect((viaReader as Error).message).toBe((viaAdapter as Error).message);
    expect(readFileSync(path, 'utf8')).toBe('not a database, just notes\n'.repeat(200));
  });
});
