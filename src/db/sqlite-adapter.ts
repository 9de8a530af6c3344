import { chmodSync, closeSync, existsSync, openSync, statSync } from 'node:fs';
import type { Database as SqliteHandle } from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { Database } from './database.ts';
import { DatabaseMissingError, DatabaseOpenError, missingDatabaseMessage, type EngineAdapter, type OpenOptions } from './engine-adapter.ts';
import { backupSqlite } from './sqlite-backup.ts';
import { withSqliteMigrationLock } from './sqlite-migration-lock.ts';
import { withStatementCache } from './sqlite-statement-cache.ts';
import { describeSqliteError, SQLITE_BUSY_TIMEOUT_MS } from './sqlite-open-errors.ts';

export { SQLITE_BUSY_TIMEOUT_MS } from './sqlite-open-errors.ts';

/**
 * Opens a SQLite file (WAL, foreign keys on, busy timeout, statement cache) and checks that it answers.
 * With `mustExist`/`readOnly` a missing file is refused (DatabaseMissingError) instead of created.
 */
export async function openSqlite(path: string, options: OpenOptions = {}): Promise<{ db: Kysely<Database>; adapter: EngineAdapter }> {
  if ((options.mustExist || options.readOnly) && !existsSync(path)) throw new DatabaseMissingError(missingDatabaseMessage(path));
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  // A dry run writes nothing, not even a new empty file: an in-memory database stands in for a missing one.
  const target = options.dryRun && !existsSync(path) ? ':memory:' : path;
  const writes = !options.readOnly && !options.dryRun;
  let raw: SqliteHandle;
  try {
    if (writes) makePrivate(path);
    raw = new BetterSqlite3(target, { timeout: SQLITE_BUSY_TIMEOUT_MS, readonly: options.readOnly ?? false, fileMustExist: options.mustExist ?? false });
    raw.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    if (writes) {
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

/**
 * Creates the database file with mode 0600 (or narrows an existing one, and its -wal/-shm, to 0600): it holds password
 * hashes and TOTP secrets (OWASP ASVS V6.4.1; V2.9.1 asks the same of key material). SQLite creates the -wal and -shm
 * files with the database file's own mode, so a private database file makes them private too. A file owned by
 * another user is left as it is (EPERM).
 */
export function makePrivate(path: string): void {
  if (path === ':memory:' || path === '') return; // no file
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return; // no folder: the open reports it
  }
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    } catch {
      /* missing, or not ours */
    }
  }
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
    widenToText: async () => false, // SQLite's TEXT affinity has no length limit
    async overwritingFreedSpace(fn) {
      // secure_delete zeroes the bytes of overwritten and deleted cells and of freed pages, so an encrypted secret does
      // not leave its plain text in the file (about 7 % did without it). The TRUNCATE checkpoint then copies every
      // page into the database file and empties the WAL, which held the pages as they were written.
      const before = raw.pragma('secure_delete', { simple: true });
      raw.pragma('secure_delete = ON');
      try {
        await fn();
      } finally {
        raw.pragma(`secure_delete = ${Number(before) ? 'ON' : 'OFF'}`);
      }
      const [result] = raw.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>;
      return result && result.busy !== 0 ? 'another process is reading the database, so its WAL could not be emptied yet; the next `crew migrate` retries' : null;
    },
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
