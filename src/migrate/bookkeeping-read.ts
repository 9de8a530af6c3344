import type { ColumnReader } from './expectations.ts';
import type { MigrationSource } from './migration.ts';

// Reading crew_migrations, with no query builder: `crew migrate --list` reads it through a plain reader
// (src/db/open-reader.ts) so that its start-up does not load Kysely (docs/PERFORMANCE.md, "CLI start-up").

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

/** Runs one parameterless SELECT and returns its rows. */
export type SelectRows = (query: string) => Promise<Array<Record<string, unknown>>>;

/**
 * Reads the applied migrations with `select`, checking that the table and every row look as the runner left them.
 * Returns [] when the table does not exist yet.
 * @example await readAppliedWith((q) => reader.selectAll(q), (t) => reader.columnsOf(t))
 */
export async function readAppliedWith(select: SelectRows, columnsOf: ColumnReader): Promise<AppliedMigration[]> {
  const columns = await columnsOf(BOOKKEEPING_TABLE);
  if (columns === null) return [];
  const missing = REQUIRED_COLUMNS.filter((c) => !columns.includes(c));
  if (missing.length > 0) {
    throw new BookkeepingCorruptError(`the bookkeeping table ${BOOKKEEPING_TABLE} is damaged: missing column(s) ${missing.join(', ')}. Nothing was changed; restore it from a backup or repair it by hand.`);
  }
  let rows: Array<Record<string, unknown>>;
  try {
    // Read-only commands (--list, db verify) may read a table made by crew 0.1.0, which has no `source` yet.
    const source = columns.includes('source') ? 'source' : `'crew'`;
    rows = await select(`SELECT id, name, checksum, applied_at, adopted, execution_ms, ${source} AS source FROM "${BOOKKEEPING_TABLE}" ORDER BY id`);
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
