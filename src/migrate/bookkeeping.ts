import { sql, type Kysely } from 'kysely';
import type { ColumnReader } from './expectations.ts';
import type { MigrationSource } from './migration.ts';

/** The table where the runner records applied migrations. */
export const BOOKKEEPING_TABLE = 'crew_migrations';

const REQUIRED_COLUMNS = ['id', 'name', 'checksum', 'applied_at', 'adopted', 'execution_ms'];

/** One row of crew_migrations. */
export interface AppliedMigration {
  id: string;
  name: string;
  checksum: string;
  appliedAt: string;
  adopted: boolean;
  executionMs: number;
  /** Where the migration came from; rows written before the column existed (crew 0.1.0) are crew's. */
  source: MigrationSource;
}

/** The bookkeeping table is not what the runner wrote; nothing is changed until a person looks. */
export class BookkeepingCorruptError extends Error {
  override name = 'BookkeepingCorruptError';
}

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
 * Reads the applied migrations, checking that the table and every row look as the runner left them.
 * Returns [] when the table does not exist yet.
 * @example await readApplied(open.db, (t) => open.adapter.columnsOf(open.db, t))
 */
export async function readApplied(db: Kysely<any>, columnsOf: ColumnReader): Promise<AppliedMigration[]> {
  const columns = await columnsOf(BOOKKEEPING_TABLE);
  if (columns === null) return [];
  const missing = REQUIRED_COLUMNS.filter((c) => !columns.includes(c));
  if (missing.length > 0) {
    throw new BookkeepingCorruptError(`the bookkeeping table ${BOOKKEEPING_TABLE} is damaged: missing column(s) ${missing.join(', ')}. Nothing was changed; restore it from a backup or repair it by hand.`);
  }
  let rows: Array<Record<string, unknown>>;
  try {
    // Read-only commands (--list, db verify) may read a table made by crew 0.1.0, which has no `source` yet.
    const source = columns.includes('source') ? sql`source` : sql`'crew'`;
    rows = (await sql<Record<string, unknown>>`SELECT id, name, checksum, applied_at, adopted, execution_ms, ${source} AS source FROM ${sql.table(BOOKKEEPING_TABLE)} ORDER BY id`.execute(db)).rows;
  } catch (error) {
    throw new BookkeepingCorruptError(`the bookkeeping table ${BOOKKEEPING_TABLE} cannot be read: ${(error as Error).message}`, { cause: error });
  }
  const problems: string[] = [];
  const applied = rows.map((row, i) => {
    const id = row.id;
    const where = typeof id === 'string' ? id : `row ${i + 1}`;
    if (typeof id !== 'string' || !/^\d{4,}_[a-z0-9][a-z0-9_-]*$/.test(id)) problems.push(`${where}: id ${JSON.stringify(id)} is not a migration id`);
    if (typeof row.checksum !== 'string' || !/^[0-9a-f]{64}$/.test(row.checksum)) problems.push(`${where}: checksum is not a SHA-256`);
    if (typeof row.applied_at !== 'string' || Number.isNaN(Date.parse(row.applied_at))) problems.push(`${where}: applied_at is not a time`);
    if (row.source !== 'crew' && row.source !== 'app') problems.push(`${where}: source ${JSON.stringify(row.source)} is neither crew nor app`);
    return {
      id: String(id),
      name: String(row.name),
      checksum: String(row.checksum),
      appliedAt: String(row.applied_at),
      adopted: row.adopted === true || row.adopted === 1,
      executionMs: Number(row.execution_ms) || 0,
      source: row.source as MigrationSource,
    };
  });
  if (problems.length > 0) {
    throw new BookkeepingCorruptError(`the bookkeeping table ${BOOKKEEPING_TABLE} is damaged: ${problems.join('; ')}. Nothing was changed; restore it from a backup or repair it by hand.`);
  }
  return applied;
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
