import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import type { Database as SqliteHandle } from 'better-sqlite3';
import { DatabaseMissingError, DatabaseOpenError, missingDatabaseMessage } from './engine-adapter.ts';
import type { DatabaseReader } from './open-database.ts';
import { describeSqliteError, SQLITE_BUSY_TIMEOUT_MS } from './sqlite-open-errors.ts';

/**
 * Opens an existing SQLite file read-only, without Kysely, and checks that it is a database: the same checks and
 * messages as `openSqlite(path, { readOnly: true })` (a missing file is DatabaseMissingError, never created), for
 * commands whose start-up time matters and that read a few rows (`crew migrate --list`).
 */
export async function openSqliteReader(path: string): Promise<DatabaseReader> {
  if (!existsSync(path)) throw new DatabaseMissingError(missingDatabaseMessage(path));
  // require, not import(): importing a CommonJS package from ESM first scans its source for export names
  // (cjs-module-lexer), a few ms of a start-up measured against a bare `node` (bench/).
  const require = createRequire(import.meta.url);
  const Sqlite = require('better-sqlite3') as typeof BetterSqlite3;
  // Left to itself better-sqlite3 finds its addon with the `bindings` package, which reads a stack trace and probes
  // a dozen paths (~4 ms); its usual place is named here, and `bindings` still searches when it is not there.
  const nativeBinding = addonPath(require);
  let raw: SqliteHandle | undefined;
  try {
    raw = new Sqlite(path, { timeout: SQLITE_BUSY_TIMEOUT_MS, readonly: true, fileMustExist: true, ...(nativeBinding ? { nativeBinding } : {}) });
    raw.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (error) {
    raw?.close();
    throw new DatabaseOpenError(describeSqliteError(path, error), { cause: error });
  }
  const handle = raw;
  return {
    location: path,
    async columnsOf(table) {
      const rows = handle.prepare('SELECT name FROM pragma_table_info(?)').all(table) as Array<{ name: string }>;
      return rows.length === 0 ? null : rows.map((r) => r.name.toLowerCase());
    },
    async selectAll(query) {
      return handle.prepare(query).all() as Array<Record<string, unknown>>;
    },
    async close() {
      handle.close();
    },
  };
}

/** better-sqlite3's addon where its install script builds or downloads it, or undefined when it is not there. */
function addonPath(require: NodeJS.Require): string | undefined {
  try {
    return require.resolve('better-sqlite3/build/Release/better_sqlite3.node');
  } catch {
    return undefined;
  }
}
