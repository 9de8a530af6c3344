import type { Kysely } from 'kysely';

/** The engines the app runs on; migrations may branch on it (`ctx.dialect`), the rest of the app asks the adapter. */
export type Dialect = 'sqlite' | 'postgres';

/** The portable column types a migration's `expects` may ask the runner to add. */
export type PortableColumnType = 'text' | 'integer' | 'bigint' | 'boolean' | 'timestamp';

/** A held one-runner-at-a-time lock. */
export interface MigrationLock {
  /** The connection the locked work must use (PostgreSQL's session advisory lock lives on one connection). */
  db: Kysely<any>;
  /** Who held a lock that was taken over because its runner had died, or null. */
  recoveredStale: string | null;
}

/** Options of {@link EngineAdapter.withMigrationLock}. */
export interface MigrationLockOptions {
  /** How long to wait for another runner before giving up (default 120 000 ms). */
  timeoutMs?: number;
  /** The locked work changes nothing (a dry run); an engine may then skip writing a lock row. */
  changesNothing?: boolean;
  /** Called once, when the lock is busy and waiting begins, with a description of the holder. */
  onWait?: (holder: string) => void;
}

/** Options of {@link EngineAdapter.backup}. */
export interface BackupOptions {
  /** Write exactly here (a manual backup); otherwise a time-stamped file in `dir`, rotated to `keep`. */
  out?: string;
  /** Folder for time-stamped backups; default: the engine's (SQLite: `backups/` beside the file; PostgreSQL: `./backups`). */
  dir?: string;
  /** How many automatic backups to keep (SQLite rotation). */
  keep: number;
  /** A backup a person asked for: named `…-manual-…`, so the rotation never deletes it. */
  manual?: boolean;
  now?: Date;
}

/** The backup could not be written; nothing was changed. */
export class BackupError extends Error {
  override name = 'BackupError';
}

/**
 * Everything that differs between database engines, in one small interface (Kysely's dialect pattern):
 * one implementation per engine (`sqlite-adapter.ts`, `postgres-adapter.ts`); everything else calls this.
 */
export interface EngineAdapter {
  readonly dialect: Dialect;
  /** Where the data lives, for messages: a file path or a URL with its password hidden. */
  readonly location: string;
  /** The database file of a file-based engine (the key file is kept beside it); null for a server. */
  readonly databaseFile: string | null;
  /**
   * Whether `crew migrate` backs up before changing anything: SQLite's online copy is cheap; PostgreSQL's
   * transactional DDL already undoes a failed migration, so it dumps only before a rollback.
   */
  readonly backupBeforeMigrate: boolean;
  /**
   * Runs `fn` in one transaction that will write, taking the write lock up front. With `foreignKeysOff`, a
   * table rebuild may drop and recreate referenced tables: checks are off around it and verified before commit.
   */
  writeTransaction<T>(db: Kysely<any>, fn: (trx: Kysely<any>) => Promise<T>, options?: { foreignKeysOff?: boolean }): Promise<T>;
  /** Takes the one-runner-at-a-time lock (shared by every process on this database) and runs `fn` holding it. */
  withMigrationLock<T>(db: Kysely<any>, options: MigrationLockOptions, fn: (lock: MigrationLock) => Promise<T>): Promise<T>;
  /** Column names of a table (lower-case), or null when the table does not exist. */
  columnsOf(db: Kysely<any>, table: string): Promise<string[] | null>;
  /** Names of the tables in the live schema. */
  listTables(db: Kysely<any>): Promise<string[]>;
  /** The engine's SQL type for a portable column type. */
  columnType(type: PortableColumnType): string;
  /**
   * Makes `table.column` hold text of any length, keeping every value. PostgreSQL: a Flask-era `VARCHAR(32)`
   * (too short for an encryption envelope) becomes `text`; SQLite columns take any length already. True when changed.
   */
  widenToText(db: Kysely<any>, table: string, column: string): Promise<boolean>;
  /**
   * Runs `fn` (which overwrites secrets) so that the old bytes do not survive in the database's files: SQLite zeroes
   * freed space (`PRAGMA secure_delete`) and afterwards checkpoints and truncates the WAL. Resolves with a warning
   * when that could not be completed (another process reading), else null. PostgreSQL: see docs/SECURITY.md.
   */
  overwritingFreedSpace(fn: () => Promise<void>): Promise<string | null>;
  /** Writes a consistent backup of the live database and returns its path; throws BackupError. */
  backup(options: BackupOptions): Promise<string>;
  /** Closes every connection. */
  close(): Promise<void>;
}

/** The database cannot be opened; the message says why and what to do. */
export class DatabaseOpenError extends Error {
  override name = 'DatabaseOpenError';
}

/** A read-only command found no database; the message names where it looked and how to make one. */
export class DatabaseMissingError extends DatabaseOpenError {
  override name = 'DatabaseMissingError';
  /** The error code `--json` output carries. */
  readonly code = 'no_database';
}

/** Another runner held the migration lock for longer than we were willing to wait. */
export class MigrationLockTimeoutError extends Error {
  override name = 'MigrationLockTimeoutError';
}

/** How to open a database. */
export interface OpenOptions {
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  /** Refuse with DatabaseMissingError instead of creating a database that does not exist. */
  mustExist?: boolean;
  /** Open for reading only: no journal-mode change, no writes (PostgreSQL: read-only transactions). */
  readOnly?: boolean;
  /**
   * Open for a dry run, whose transactions are always rolled back: no journal-mode change, and a missing SQLite
   * file is not created (an empty in-memory database stands in, so the dry run shows what creating it would do).
   */
  dryRun?: boolean;
}

/** The message every command gives for a database that is not there. */
export function missingDatabaseMessage(location: string): string {
  return `no database at ${location} (set DATABASE_URL, or run \`crew migrate\` to create it)`;
}

/**
 * The table a query failed on because it does not exist (SQLite "no such table: X", PostgreSQL 42P01
 * `relation "X" does not exist`), or null for any other error: commands then say the database is not set up.
 * @example missingTableOf(error) // 'users'
 */
export function missingTableOf(error: unknown): string | null {
  const e = error as { code?: string; message?: string } | null;
  const message = typeof e?.message === 'string' ? e.message : '';
  const sqlite = /^no such table: (?:\w+\.)?(\w+)/.exec(message);
  if (sqlite) return sqlite[1]!;
  if (e?.code === '42P01') return /relation "(?:\w+\.)?(\w+)" does not exist/.exec(message)?.[1] ?? 'a';
  return null;
}

/** Thrown by commands that read a database crew has not set up (its tables are missing). */
export class DatabaseNotMigratedError extends Error {
  override name = 'DatabaseNotMigratedError';
  readonly code = 'not_migrated';
  readonly exitCode = 1;
  constructor(location: string, table: string) {
    super(`the database at ${location} has no ${table} table: it is not set up for crew yet (run \`crew migrate\` to create the schema)`);
  }
}
