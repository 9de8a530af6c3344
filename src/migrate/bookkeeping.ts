import { sql, type Kysely } from 'kysely';
import type { ColumnReader } from './expectations.ts';
import { BOOKKEEPING_TABLE, readAppliedWith, type AppliedMigration } from './bookkeeping-read.ts';

export { BOOKKEEPING_TABLE, BookkeepingCorruptError, type AppliedMigration } from './bookkeeping-read.ts';

/** Creates crew_migrations if it is missing, and adds `source` to one made by crew 0.1.0 (call under the migration lock). */
export async function ensureBookkeeping(db: Kysely<any>, columnsOf: ColumnReader): Promise<void> {
  await db.schema
    .createTable(BOOKKEEPING_TABLE)
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('checksum', 'text', (c) => c.notNull())
    .addColumn('applied_at', 'text', (c) => c.notNull())
    .addColumn('adopted', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('execution_ms', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('source', 'text', (c) => c.notNull().defaultTo('crew'))
    .execute();
  // Databases made before the app's own migrations existed lack `source`: every row they hold is a built-in, so
  // the column is added with the default 'crew' (ADD COLUMN with a constant default is safe on both engines).
  if (!((await columnsOf(BOOKKEEPING_TABLE)) ?? []).includes('source')) {
    await db.schema.alterTable(BOOKKEEPING_TABLE).addColumn('source', 'text', (c) => c.notNull().defaultTo('crew')).execute();
  }
}

/**
 * Reads the applied migrations, checking that the table and every row look as the runner left them
 * (bookkeeping-read.ts). Returns [] when the table does not exist yet.
 * @example await readApplied(open.db, (t) => open.adapter.columnsOf(open.db, t))
 */
export async function readApplied(db: Kysely<any>, columnsOf: ColumnReader): Promise<AppliedMigration[]> {
  return readAppliedWith(async (query) => (await sql.raw<Record<string, unknown>>(query).execute(db)).rows, columnsOf);
}

/** Records an applied migration (inside the migration's own transaction). */
export async function recordApplied(db: Kysely<any>, row: AppliedMigration): Promise<void> {
  await db
    .insertInto(BOOKKEEPING_TABLE)
    .values({ id: row.id, name: row.name, checksum: row.checksum, applied_at: row.appliedAt, adopted: row.adopted ? 1 : 0, execution_ms: Math.round(row.executionMs), source: row.source })
    .execute();
}

/** Removes a migration's record (inside the rollback's transaction). */
export async function forgetApplied(db: Kysely<any>, id: string): Promise<void> {
  await db.deleteFrom(BOOKKEEPING_TABLE).where('id', '=', id).execute();
}

/** Updates stored checksums after an explicit `--allow-changed` override. */
export async function updateChecksum(db: Kysely<any>, id: string, checksum: string): Promise<void> {
  await db.updateTable(BOOKKEEPING_TABLE).set({ checksum }).where('id', '=', id).execute();
}
