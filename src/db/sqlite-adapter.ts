import { existsSync } from 'node:fs';
import type { Database as SqliteHandle } from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { Database } from './database.ts';
import { DatabaseMissingError, DatabaseOpenError, missingDatabaseMessage, type EngineAdapter, type OpenOptions } from './engine-adapter.ts';
import { backupSqlite } from './sqlite-backup.ts';
import { withSqliteMigrationLock } from './sqlite-migration-lock.ts';
import { withStatementCache } from './sqlite-statement-cache.ts';

/** How long a SQLite writer waits for another process's lock before failing (ms). */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * Opens a SQLite file (WAL, foreign keys on, busy timeout, statement cache) and checks that it answers.
 * With `mustExist`/`readOnly` a missing file is refused (DatabaseMissingError) instead of created.
 */
export async function openSqlite(path: string, options: OpenOptions = {}): Promise<{ db: Kysely<Database>; adapter: EngineAdapter }> {
  if ((options.mustExist || options.readOnly) && !existsSync(path)) throw new DatabaseMissingError(missingDatabaseMessage(path));
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  let raw: SqliteHandle;
  try {
    raw = new BetterSqlite3(path, { timeout: SQLITE_BUSY_TIMEOUT_MS, readonly: options.readOnly ?? false, fileMustExist: options.mustExist ?? false });
    raw.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    if (!options.readOnly) {
      const mode = raw.pragma('journal_mode = WAL', { simple: true });
      if (String(mode).toLowerCase() !== 'wal') raw.pragma('journal_mode', { simple: true });
      raw.pragma('synchronous = NORMAL');
    }
    raw.pragma('foreign_keys = ON');
    raw.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (error) {
    throw new DatabaseOpenError(describeSqliteError(path, error), { cause: error });
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });
  return { db, adapter: sqliteAdapter(raw, db, path) };
}

function describeSqliteError(path: string, error: unknown): string {
  const code = (error as { code?: string }).code ?? '';
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_CANTOPEN') return `cannot open SQLite database ${path}: the folder does not exist or is not writable`;
  if (code.startsWith('SQLITE_READONLY') || /readonly/i.test(message)) return `SQLite database ${path} is read-only: check the file's and its folder's permissions`;
  if (code === 'SQLITE_BUSY' || /locked/i.test(message)) return `SQLite database ${path} is locked by another process (waited ${SQLITE_BUSY_TIMEOUT_MS} ms)`;
  if (code === 'SQLITE_NOTADB' || /not a database/i.test(message)) return `${path} is not a SQLite database`;
  if (code === 'SQLITE_CORRUPT') return `SQLite database ${path} is corrupt: restore it from backups/`;
  return `cannot open SQLite database ${path}: ${message}`;
}

/** The SQLite engine adapter over one better-sqlite3 connection (which Kysely's SqliteDialect also uses). */
function sqliteAdapter(raw: SqliteHandle, owner: Kysely<Database>, path: string): EngineAdapter {
  return {
    dialect: 'sqlite',
    location: path,
    databaseFile: path,
    backupBeforeMigrate: true,
    async writeTransaction(db, fn, options = {}) {
      // PRAGMA foreign_keys is a no-op inside a transaction, so a table rebuild (SQLite's "12-step" ALTER
      // procedure) switches it here, outside; otherwise DROP TABLE of a parent cascades deletes.
      if (options.foreignKeysOff) raw.pragma('foreign_keys = OFF');
      try {
        return await db.connection().execute(async (conn) => {
          // BEGIN IMMEDIATE takes the write lock up front (waiting up to the busy timeout): a deferred
          // transaction that reads first and upgrades later fails at once when another process wrote in between.
          await sql`BEGIN IMMEDIATE`.execute(conn);
          try {
            const result = await fn(conn);
            if (options.foreignKeysOff) checkForeignKeys(raw);
            await sql`COMMIT`.execute(conn);
            return result;
          } catch (error) {
            await sql`ROLLBACK`.execute(conn).catch(() => {});
            throw error;
          }
        });
      } finally {
        if (options.foreignKeysOff) raw.pragma('foreign_keys = ON');
      }
    },
    withMigrationLock: (db, options, fn) => withSqliteMigrationLock(raw, db, path, options, fn),
    async columnsOf(db, table) {
      const rows = await sql<{ name: string }>`SELECT name FROM pragma_table_info(${table})`.execute(db);
      return rows.rows.length === 0 ? null : rows.rows.map((r) => r.name.toLowerCase());
    },
    async listTables(db) {
      const rows = await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`.execute(db);
      return rows.rows.map((r) => r.name);
    },
    columnType: (type) => type,
    backup: (options) => backupSqlite(raw, path, options),
    close: () => owner.destroy(),
  };
}

/** PRAGMA foreign_key_check before committing a rebuild: dangling references fail it (and roll it back). */
function checkForeignKeys(raw: SqliteHandle): void {
  const violations = raw.pragma('foreign_key_check') as Array<{ table: string; parent: string }>;
  if (violations.length === 0) return;
  const sample = violations.slice(0, 5).map((v) => `${v.table} → ${v.parent}`).join(', ');
  throw new Error(`foreign_key_check found ${violations.length} violation(s) after the rebuild (${sample})`);
}
