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
