import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { Database as SqliteHandle } from 'better-sqlite3';

/** The backup could not be written; nothing was migrated. */
export class BackupError extends Error {
  override name = 'BackupError';
}

/** The `backups/` folder beside a SQLite database file. */
export function backupDirFor(databasePath: string): string {
  return join(dirname(databasePath), 'backups');
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.(\d{3})Z$/, '$1Z');
}

/**
 * Copies a live SQLite database with SQLite's online backup API (consistent even in WAL mode,
 * unlike a file copy), into `backups/<name>-<UTC timestamp>.db`, then keeps only the newest `keep`.
 * @example await backupSqlite(raw, '/srv/production_crew.db', { keep: 10 }) // '/srv/backups/production_crew-20261124T184012123Z.db'
 */
export async function backupSqlite(
  raw: SqliteHandle,
  databasePath: string,
  options: { keep: number; out?: string; now?: Date },
): Promise<string> {
  const stem = basename(databasePath, extname(databasePath));
  const dir = options.out ? dirname(options.out) : backupDirFor(databasePath);
  const target = options.out ?? join(dir, `${stem}-${timestamp(options.now ?? new Date())}.db`);
  try {
    mkdirSync(dir, { recursive: true });
    await raw.backup(target);
  } catch (error) {
    rmSync(target, { force: true });
    const code = (error as { code?: string }).code;
    const why = code === 'SQLITE_FULL' || code === 'ENOSPC' ? 'the disk is full' : (error as Error).message;
    throw new BackupError(`backup to ${target} failed (${why}); nothing was migrated`, { cause: error });
  }
  if (!options.out) pruneBackups(dir, stem, options.keep);
  return target;
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

/** Size in bytes of a file, or 0 when it does not exist. */
export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
