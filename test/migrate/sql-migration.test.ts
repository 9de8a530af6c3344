import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type OpenDatabase } from '../../src/db/open-database.ts';
import { discoverMigrations } from '../../src/migrate/discover.ts';
import { MigrationRunner } from '../../src/migrate/migration-runner.ts';
import { parseSqlMigration, splitStatements } from '../../src/migrate/sql-migration.ts';
import { scratchAppMigrationsDir } from '../helpers/run-crew.ts';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';

describe('splitting a SQL section into statements', () => {
  it('splits at ; outside strings, quoted names, comments and dollar-quoted bodies', () => {
    const text = `INSERT INTO t (a) VALUES ('x;y'), ('it''s; fine'); -- a comment; with a semicolon
CREATE TABLE "odd;name" (id INTEGER); /* block; comment */
CREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN RETURN NEW; END; $body$ LANGUAGE plpgsql;
-- only a comment;
`;
    expect(splitStatements(text)).toEqual([
      "INSERT INTO t (a) VALUES ('x;y'), ('it''s; fine')",
      '-- a comment; with a semicolon\nCREATE TABLE "odd;name" (id INTEGER)',
      '/* block; comment */\nCREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN RETURN NEW; END; $body$ LANGUAGE plpgsql',
    ]);
  });
});

describe('reading a dbmate-style file', () => {
  it('reads up/down sections, per-engine sections and the declarations', () => {
    const parsed = parseSqlMigration(`-- expects: users.phone, users.email
-- creates: tags
-- migrate:up sqlite
CREATE TABLE tags (id INTEGER PRIMARY KEY AUTOINCREMENT);
-- migrate:up postgres
CREATE TABLE tags (id SERIAL PRIMARY KEY);
-- migrate:down
DROP TABLE tags;
`);
    expect(parsed).toEqual({
      up: { sqlite: ['CREATE TABLE tags (id INTEGER PRIMARY KEY AUTOINCREMENT)'], postgres: ['CREATE TABLE tags (id SERIAL PRIMARY KEY)'] },
      down: { any: ['DROP TABLE tags'] },
      expects: { users: { phone: 'required', email: 'required' }, tags: {} },
      creates: ['tags'],
    });
  });

  it('refuses what it would have to guess, naming the line and what to write', () => {
    expect(() => parseSqlMigration('CREATE TABLE x (id INTEGER);\n-- migrate:up\n-- migrate:down\n')).toThrow(/^line 1: SQL before the first `-- migrate:up` line/);
    expect(() => parseSqlMigration('-- migrate:up transaction:false\n-- migrate:down\n')).toThrow(/^line 1: "transaction:false" is not supported: crew runs every migration inside one transaction/);
    expect(() => parseSqlMigration('-- migrate:up mysql\n-- migrate:down\n')).toThrow(/unknown option "mysql"/);
    expect(() => parseSqlMigration('-- expects: phone\n-- migrate:up\n-- migrate:down\n')).toThrow(/"phone" is not table\.column/);
    expect(() => parseSqlMigration('-- migrate:down\n')).toThrow(/no `-- migrate:up` section/);
  });
});

describe.each(TEST_DIALECTS)('SQL migrations run by the runner on %s', (kind) => {
  let test: TestDatabase;
  let open: OpenDatabase;
  let dir: string;
  beforeEach(async () => {
    test = await createTestDatabase(kind);
    open = await openDatabase(test.config);
    dir = scratchAppMigrationsDir();
  });
  afterEach(async () => {
    await open.close();
    await test.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const runner = () => new MigrationRunner(open, { appMigrationsDir: dir, backup: false });

  it('one migration written once per engine (NNNN_name.sqlite.sql + NNNN_name.postgres.sql): one row, each engine runs its own file', async () => {
    writeFileSync(join(dir, '0001_events_log.sqlite.sql'), `-- creates: events_log\n-- migrate:up\nCREATE TABLE events_log (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT DEFAULT (datetime('now')));\n-- migrate:down\nDROP TABLE events_log;\n`);
    writeFileSync(join(dir, '0001_events_log.postgres.sql'), `-- creates: events_log\n-- migrate:up\nCREATE TABLE events_log (id SERIAL PRIMARY KEY, at TIMESTAMPTZ DEFAULT now());\n-- migrate:down\nDROP TABLE events_log;\n`);
    const files = discoverMigrations(dir, 'app');
    expect(files.map((f) => f.id)).toEqual(['0001_events_log']);
    const report = await runner().migrate();
    expect(report.ok, report.lines.join('\n')).toBe(true);
    expect(report.results.at(-1)).toMatchObject({ name: 'events_log', status: 'applied' });
    expect(await open.adapter.columnsOf(open.db, 'events_log')).toEqual(['id', 'at']);
    expect((await runner().verify()).ok).toBe(true);
    // Editing either engine's file is an edit of the migration.
    writeFileSync(join(dir, '0001_events_log.postgres.sql'), `-- creates: events_log\n-- migrate:up\nCREATE TABLE events_log (id SERIAL PRIMARY KEY);\n-- migrate:down\nDROP TABLE events_log;\n`);
    await expect(runner().migrate()).rejects.toThrow(/changed since they ran: events_log/);
  });

  it('statements run inside the runner’s transaction: a failing statement leaves nothing of the earlier ones', async () => {
    writeFileSync(join(dir, '0001_half.sql'), `-- migrate:up\nCREATE TABLE half_done (id INTEGER);\nINSERT INTO half_done (id) VALUES (1);\nINSERT INTO no_such_table (id) VALUES (1);\n-- migrate:down\nDROP TABLE half_done;\n`);
    const report = await runner().migrate();
    expect(report.ok).toBe(false);
    expect(report.results.at(-1)).toMatchObject({ name: 'half', status: 'failed' });
    expect(await open.adapter.columnsOf(open.db, 'half_done')).toBeNull();
    expect((await runner().status()).find((s) => s.name === 'half')?.state).toBe('pending');
  });

  it('a file without a section for this engine fails with what to add', async () => {
    writeFileSync(join(dir, '0001_other_engine.sql'), `-- migrate:up ${kind === 'sqlite' ? 'postgres' : 'sqlite'}\nSELECT 1;\n-- migrate:down\n`);
    const report = await runner().migrate();
    expect(report.results.at(-1)?.error).toMatch(new RegExp(`migration 0001_other_engine has no \`-- migrate:up\` section for ${kind} .*: add one, or a section without an engine`));
  });
});
