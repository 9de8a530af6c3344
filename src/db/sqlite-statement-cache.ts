import type { Database as SqliteHandle, Statement } from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** How many prepared statements a SQLite connection keeps (least recently used ones are dropped). */
export const SQLITE_STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely's SQLite driver prepares every query anew, and preparing was the largest cost of a signed-in
 * request in our profile (bench/ `GET /api/me`). This keeps the most recently used prepared statements.
 * Reuse is safe because better-sqlite3 runs each statement to completion synchronously (we never stream).
 */
export function withStatementCache(raw: SqliteHandle): SqliteDatabase {
  const cache = new Map<string, Statement>();
  return {
    close: () => raw.close(),
    prepare(sqlText: string) {
      let statement = cache.get(sqlText);
      if (statement) {
        cache.delete(sqlText); // re-insert: Map order is the recency order
      } else {
        statement = raw.prepare(sqlText);
        if (cache.size >= SQLITE_STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      cache.set(sqlText, statement);
      return statement as unknown as SqliteStatement;
    },
  };
}
