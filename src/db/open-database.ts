import type { Kysely } from 'kysely';
import type { DatabaseConfig } from '../config.ts';
import type { Database } from './database.ts';
import type { Dialect, EngineAdapter, OpenOptions } from './engine-adapter.ts';

export { DatabaseMissingError, DatabaseOpenError, type Dialect, type EngineAdapter, type OpenOptions } from './engine-adapter.ts';

/** An open database: the typed Kysely instance, the engine adapter for everything engine-specific, and how to close it. */
export interface OpenDatabase {
  db: Kysely<Database>;
  /** Which engine (migrations may branch on it; other code asks `adapter`). */
  dialect: Dialect;
  adapter: EngineAdapter;
  close(): Promise<void>;
}

/** One opener per engine; a new engine adds one adapter file and one entry here. */
const OPENERS: { [K in DatabaseConfig['kind']]: (config: Extract<DatabaseConfig, { kind: K }>, options: OpenOptions) => Promise<{ db: Kysely<Database>; adapter: EngineAdapter }> } = {
  sqlite: async (config, options) => (await import('./sqlite-adapter.ts')).openSqlite(config.path, options),
  postgres: async (config, options) => (await import('./postgres-adapter.ts')).openPostgres(config.url, options),
};

/**
 * Opens the configured database and checks that it answers; throws DatabaseOpenError (or DatabaseMissingError
 * with `mustExist`/`readOnly`) with a message that says what to do.
 * @example const open = await openDatabase(config.database, { mustExist: true, readOnly: true });
 */
export async function openDatabase(config: DatabaseConfig, options: OpenOptions = {}): Promise<OpenDatabase> {
  const open = OPENERS[config.kind] as (config: DatabaseConfig, options: OpenOptions) => Promise<{ db: Kysely<Database>; adapter: EngineAdapter }>;
  const { db, adapter } = await open(config, options);
  return { db, dialect: adapter.dialect, adapter, close: () => adapter.close() };
}

/**
 * A read-only connection for a command that reads a few rows and whose start-up time matters (`crew migrate --list`,
 * issue 9): no Kysely. It cannot write, and a missing database is DatabaseMissingError, as with `openDatabase(config,
 * { readOnly: true })`.
 */
export interface DatabaseReader {
  /** Where the data lives, for messages. */
  readonly location: string;
  /** Column names of a table (lower-case), or null when the table does not exist. */
  columnsOf(table: string): Promise<string[] | null>;
  /** Runs one SELECT without parameters and returns its rows. */
  selectAll(query: string): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

/**
 * One reader per engine. SQLite's skips Kysely (~0.25× of a bare `node` start, bench/); PostgreSQL's reads through its
 * full adapter, read-only, because its start-up is dominated by the connection anyway.
 */
const READERS: { [K in DatabaseConfig['kind']]: (config: Extract<DatabaseConfig, { kind: K }>) => Promise<DatabaseReader> } = {
  sqlite: async (config) => (await import('./sqlite-reader.ts')).openSqliteReader(config.path),
  postgres: async (config) => {
    const [{ sql }, open] = await Promise.all([import('kysely'), openDatabase(config, { readOnly: true, mustExist: true, poolSize: 1 })]);
    return {
      location: open.adapter.location,
      columnsOf: (table) => open.adapter.columnsOf(open.db, table),
      selectAll: async (query) => (await sql.raw<Record<string, unknown>>(query).execute(open.db)).rows,
      close: () => open.close(),
    };
  },
};

/**
 * Opens the configured database for reading only (see DatabaseReader).
 * @example const reader = await openReader(config.database); try { await reader.selectAll('SELECT 1') } finally { await reader.close() }
 */
export async function openReader(config: DatabaseConfig): Promise<DatabaseReader> {
  return (READERS[config.kind] as (config: DatabaseConfig) => Promise<DatabaseReader>)(config);
}
