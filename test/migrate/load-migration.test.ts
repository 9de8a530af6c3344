import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type OpenDatabase } from '../../src/db/open-database.ts';
import { discoverMigrations } from '../../src/migrate/discover.ts';
import { loadMigration } from '../../src/migrate/load-migration.ts';
import { MigrationRunner } from '../../src/migrate/migration-runner.ts';
import { scratchMigrationsDir } from '../helpers/run-crew.ts';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';

// Migrations in a folder OUTSIDE crew, with no package.json and nothing installed: TypeScript whose
// `import type`s name kysely and crew, and an .mjs file. crew compiles each with esbuild and provides kysely.

const NOTES_TS = `import type { Kysely } from 'kysely';
import type { Expectations, MigrationContext } from 'production-crew-2fa';
import { sql } from 'kysely';
import { tableName } from './shared/names.ts';

export const creates = [tableName];
export const expects: Expectations = { notes: { id: 'required', body: 'required' } };

export async function up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  const id: string = ctx.dialect === 'postgres' ? 'serial' : 'integer';
  await db.schema.createTable(tableName).addColumn('id', sql.raw(id) as never, (c) => c.primaryKey()).addColumn('body', 'text', (c) => c.notNull()).execute();
  await sql\`INSERT INTO notes (body) VALUES (\${'first note'})\`.execute(db);
  ctx.report('✓ notes table created');
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable(tableName).execute();
}
`;

const TAGS_MJS = `export const expects = { notes: { tag: { type: 'text' } } };
export async function up(db, ctx) {
  await db.schema.alterTable('notes').addColumn('tag', 'text').execute();
  ctx.report('✓ notes.tag added');
}
export async function down(db) {
  await db.schema.alterTable('notes').dropColumn('tag').execute();
}
`;

describe.each(TEST_DIALECTS)('migrations in a folder outside crew on %s', (kind) => {
  let test: TestDatabase;
  let open: OpenDatabase;
  let dir: string;
  beforeEach(async () => {
    test = await createTestDatabase(kind);
    open = await openDatabase(test.config);
    dir = scratchMigrationsDir();
    writeFileSync(join(dir, '0901_notes.ts'), NOTES_TS);
    writeFileSync(join(dir, '0902_tags.mjs'), TAGS_MJS);
    // A helper beside the migrations: bundled into the migration that imports it, never run as one.
    mkdirSync(join(dir, 'shared'));
    writeFileSync(join(dir, 'shared', 'names.ts'), "export const tableName: string = 'notes';\n");
  });
  afterEach(async () => {
    await open.close();
    await test.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies TypeScript and .mjs migrations with no package.json, then rolls each back', async () => {
    expect(existsSync(join(dir, 'package.json'))).toBe(false);
    const runner = new MigrationRunner(open, { migrationsDir: dir, backup: false });
    const report = await runner.migrate();
    expect(report.ok, report.lines.join('\n')).toBe(true);
    expect(report.lines).toEqual(expect.arrayContaining(['✓ notes table created', '✓ notes.tag added']));
    const rows = await open.db.selectFrom('notes' as never).select(['body' as never, 'tag' as never]).execute();
    expect(rows).toEqual([{ body: 'first note', tag: null }]);
    expect((await runner.verify()).ok).toBe(true);
    await runner.rollback('tags');
    expect(await open.adapter.columnsOf(open.db, 'notes')).toEqual(['id', 'body']);
    await runner.rollback('notes');
    expect(await open.adapter.columnsOf(open.db, 'notes')).toBeNull();
  });
});

describe('a migration file that cannot be loaded', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crew-bad-migrations-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const load = async (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    const file = discoverMigrations(dir).find((f) => name.startsWith(f.id))!;
    return loadMigration(file).then(
      () => '(loaded)',
      (error: Error) => error.message,
    );
  };

  it('names the file, the cause with its line, and what to do', async () => {
    const message = await load('0001_syntax.ts', 'export const expects = {};\nthis is not javascript\n');
    expect(message).toMatch(new RegExp(`^migration 0001_syntax failed to import \\(${dir}/0001_syntax.ts\\): line 2:\\d+: .+\\. Fix the file, then run \`crew migrate\` again\\.$`));
    expect(message.split('\n')).toHaveLength(1);
  });

  it('says which package is missing and that crew provides kysely', async () => {
    const message = await load('0001_pkg.ts', "import pad from 'left-pad-not-installed';\nexport const expects = {};\nexport async function up() { pad(); }\nexport async function down() {}\n");
    expect(message).toContain('Could not resolve "left-pad-not-installed"');
    expect(message).toContain('Install the package where the file can find it');
  });

  it('reports an error thrown while the module is evaluated', async () => {
    expect(await load('0001_throws.mjs', "throw new Error('top-level boom');\n")).toMatch(/^migration 0001_throws failed to import \(.+0001_throws\.mjs\): top-level boom\. Fix the file/);
  });

  it('lists the exports a migration lacks', async () => {
    expect(await load('0001_empty.ts', 'export const nothing = 1;\n')).toMatch(/does not export up, down, expects: a migration exports up\(db, ctx\), down\(db, ctx\) and expects/);
  });
});
