import { Kysely, PostgresDialect, SqliteDialect, sql, type SqliteDatabase, type SqliteStatement } from 'kysely';
import type { DatabaseConfig } from '../config.ts';
import type { Database } from './database.ts';

/** The two engines the app runs on. */
export type Dialect = 'sqlite' | 'postgres';

/** An open database: the typed Kysely instance, which engine it is, and how to close it. */
export interface OpenDatabase {
  db: Kysely<Database>;
  dialect: Dialect;
  /** Absolute file path of a SQLite database; null for PostgreSQL. */
  sqlitePath: string | null;
  /** The connection URL of a PostgreSQL database (for pg_dump); null for SQLite. */
  postgresUrl: string | null;
  /** The raw better-sqlite3 handle (for the online backup API); null for PostgreSQL. */
  sqlite: import('better-sqlite3').Database | null;
  close(): Promise<void>;
}

/** The database cannot be opened; the message says why and what to do. */
export class DatabaseOpenError extends Error {
  override name = 'DatabaseOpenError';
}

/** How long a SQLite writer waits for another process's lock before failing (ms). */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * Opens SQLite (WAL, foreign keys on, busy timeout) or PostgreSQL, and checks that it answers.
 * This is the only module that knows which engine is in use.
 */
export async function openDatabase(config: DatabaseConfig, options: { poolSize?: number } = {}): Promise<OpenDatabase> {
  return config.kind === 'sqlite' ? openSqlite(config.path) : openPostgres(config.url, options.poolSize ?? 10);
}

async function openSqlite(path: string): Promise<OpenDatabase> {
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  let raw: import('better-sqlite3').Database;
  try {
    raw = new BetterSqlite3(path, { timeout: SQLITE_BUSY_TIMEOUT_MS });
    raw.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    const mode = raw.pragma('journal_mode = WAL', { simple: true });
    if (String(mode).toLowerCase() !== 'wal') raw.pragma('journal_mode', { simple: true });
    raw.pragma('foreign_keys = ON');
    raw.pragma('synchronous = NORMAL');
    raw.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (error) {
    throw new DatabaseOpenError(describeSqliteError(path, error), { cause: error });
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });
  return {
    db,
    dialect: 'sqlite',
    sqlitePath: path,
    postgresUrl: null,
    sqlite: raw,
    close: async () => {
      await db.destroy();
    },
  };
}

/** How many prepared statements a SQLite connection keeps (least recently used ones are dropped). */
export const SQLITE_STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely's SQLite driver prepares every query anew, and preparing was the largest cost of a signed-in
 * request in our profile (bench/ `GET /api/me`). This keeps the most recently used prepared statements.
 * Reuse is safe because better-sqlite3 runs each statement to completion synchronously (we never stream).
 */
function withStatementCache(raw: import('better-sqlite3').Database): SqliteDatabase {
  const cache = new Map<string, import('better-sqlite3').Statement>();
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

function describeSqliteError(path: string, error: unknown): string {
  const code = (error as { code?: string }).code ?? '';
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_CANTOPEN') return `cannot open SQLite database ${path}: the folder does not exist or is not writable`;
  if (code === 'SQLITE_READONLY' || /readonly/i.test(message)) return `SQLite database ${path} is read-only: check the file's and its folder's permissions`;
  if (code === 'SQLITE_BUSY' || /locked/i.test(message)) return `SQLite database ${path} is locked by another process (waited ${SQLITE_BUSY_TIMEOUT_MS} ms)`;
  if (code === 'SQLITE_NOTADB' || /not a database/i.test(message)) return `${path} is not a SQLite database`;
  if (code === 'SQLITE_CORRUPT') return `SQLite database ${path} is corrupt: restore it from backups/`;
  return `cannot open SQLite database ${path}: ${message}`;
}

async function openPostgres(url: string, poolSize: number): Promise<OpenDatabase> {
  const pg = (await import('pg')).default;
  // int8 (bigint) columns hold epoch milliseconds and time steps: well inside 2^53.
  pg.types.setTypeParser(20, (v: string) => Number(v));
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5000 });
  pool.on('error', () => {
    /* an idle client lost its connection; the next query reconnects */
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`SELECT 1`.execute(db);
  } catch (error) {
    await db.destroy().catch(() => {});
    const safeUrl = redactUrl(url);
    const message = error instanceof Error ? error.message : String(error);
    throw new DatabaseOpenError(`cannot reach PostgreSQL at ${safeUrl}: ${message || (error as { code?: string }).code}`, { cause: error });
  }
  return { db, dialect: 'postgres', sqlitePath: null, postgresUrl: url, sqlite: null, close: () => db.destroy() };
}

/** Hides the password of a connection URL for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}
