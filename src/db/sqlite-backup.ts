import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { Database as SqliteHandle } from 'better-sqlite3';
import { BackupError } from './engine-adapter.ts';

/** The `backups/` folder beside a SQLite database file. */
export function backupDirFor(databasePath: string): string {
  return join(dirname(databasePath), 'backups');
}

/** A UTC time stamp for backup file names, e.g. `20261124T184012123Z`. */
export function backupTimestamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.(\d{3})Z$/, '$1Z');
}

/**
 * Copies a live SQLite database with SQLite's online backup API (consistent even in WAL mode,
 * unlike a file copy), into `<dir>/<name>-<UTC timestamp>.db` (`<name>-manual-<time>.db` when `manual`),
 * then keeps only the newest `keep` automatic ones.
 * @example await backupSqlite(raw, '/srv/production_crew.db', { keep: 10 }) // '/srv/backups/production_crew-20261124T184012123Z.db'
 */
export async function backupSqlite(
  raw: SqliteHandle,
  databasePath: string,
  options: { keep: number; out?: string; dir?: string; manual?: boolean; now?: Date },
): Promise<string> {
  const stem = basename(databasePath, extname(databasePath));
  const dir = options.out ? dirname(options.out) : (options.dir ?? backupDirFor(databasePath));
  const target = options.out ?? join(dir, `${stem}-${options.manual ? 'manual-' : ''}${backupTimestamp(options.now ?? new Date())}.db`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    createPrivateFile(target);
    await raw.backup(target);
  } catch (error) {
    rmSync(target, { force: true });
    const code = (error as { code?: string }).code;
    const why = code === 'SQLITE_FULL' || code === 'ENOSPC' ? 'the disk is full' : (error as Error).message;
    throw new BackupError(`backup to ${target} failed (${why})`, { cause: error });
  }
  if (!options.out && !options.manual) pruneBackups(dir, stem, options.keep);
  return target;
}

/**
 * Creates (or truncates) `path` with mode 0600 before anything is written into it. A backup holds everything the
 * database does, plain-text secrets of the old app included (it is the way back to it), so only the owner may read it
 * (OWASP ASVS V6.4.1). SQLite and pg_dump keep the mode of a file that exists, and chmod covers one made earlier.
 */
export function createPrivateFile(path: string): void {
  closeSync(openSync(path, 'w', 0o600));
  chmodSync(path, 0o600);
}

/** Deletes all but the newest `keep` automatic backups of one database. */
export function pruneBackups(dir: string, stem: string, keep: number): string[] {
  const pattern = new RegExp(`^${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d{8}T\\d{9}Z\\.db$`);
  const backups = readdirSync(dir)
    .filter((f) => pattern.test(f))
    .sort();
  const doomed = backups.slice(0, Math.max(0, backups.length - keep)).map((f) => join(dir, f));
  for (const file of doomed) rmSync(file, { force: true });
  return doomed;
}
