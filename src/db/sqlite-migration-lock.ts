import { hostname } from 'node:os';
import type { Database as SqliteHandle } from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { MigrationLock, MigrationLockOptions } from './engine-adapter.ts';
import { pollForLock, type LockAttempt } from './lock-polling.ts';

/** A SQLite lock whose holder has not refreshed it for this long is considered abandoned (other host). */
export const SQLITE_LOCK_STALE_MS = 60_000;
const HEARTBEAT_MS = 5_000;

interface HolderRow {
  pid: number;
  hostname: string;
  heartbeat_ms: number;
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The one-runner-at-a-time lock on SQLite: a row in crew_migration_lock claimed inside BEGIN IMMEDIATE,
 * so the check and the claim are one atomic step between processes; a row left by a dead process (same
 * host) or with a heartbeat older than {@link SQLITE_LOCK_STALE_MS} (other host) is taken over.
 */
export async function withSqliteMigrationLock<T>(
  raw: SqliteHandle,
  db: Kysely<any>,
  path: string,
  options: MigrationLockOptions,
  fn: (lock: MigrationLock) => Promise<T>,
): Promise<T> {
  // A run that changes nothing (a dry run) writes no lock row: its rolled-back BEGIN IMMEDIATE
  // transaction already keeps other writers out while it runs.
  if (options.changesNothing) return fn({ db, recoveredStale: null });
  // Only create the table when it is missing: even CREATE TABLE IF NOT EXISTS wants the write lock,
  // which a long migration of another runner may hold.
  const exists = raw.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'crew_migration_lock'").get();
  if (!exists) raw.exec(`CREATE TABLE IF NOT EXISTS crew_migration_lock (
    id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, hostname TEXT NOT NULL,
    token TEXT NOT NULL, acquired_at_ms INTEGER NOT NULL, heartbeat_ms INTEGER NOT NULL)`);
  const token = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const host = hostname();
  const readHolder = raw.prepare('SELECT pid, hostname, heartbeat_ms FROM crew_migration_lock WHERE id = 1');
  const isDead = (row: HolderRow) => (row.hostname === host ? !processIsAlive(row.pid) : Date.now() - row.heartbeat_ms > SQLITE_LOCK_STALE_MS);
  const claim = raw.transaction((): LockAttempt<string | null> => {
    const row = readHolder.get() as HolderRow | undefined;
    if (row && !isDead(row)) return { taken: false, holder: `pid ${row.pid} on ${row.hostname}` };
    if (row) raw.prepare('DELETE FROM crew_migration_lock WHERE id = 1').run();
    const now = Date.now();
    raw.prepare('INSERT INTO crew_migration_lock (id, pid, hostname, token, acquired_at_ms, heartbeat_ms) VALUES (1, ?, ?, ?, ?, ?)').run(process.pid, host, token, now, now);
    return { taken: true, value: row ? `pid ${row.pid} on ${row.hostname}` : null };
  });
  const recoveredStale = await pollForLock(
    async () => {
      // Look first without the write lock, so waiting runners do not compete with the holder's migrations for it.
      const row = readHolder.get() as HolderRow | undefined;
      if (row && !isDead(row)) return { taken: false, holder: `pid ${row.pid} on ${row.hostname}` };
      try {
        return claim.immediate();
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
        return { taken: false, holder: 'a writer (database busy)' };
      }
    },
    options,
    path,
  );
  const heartbeat = setInterval(() => {
    try {
      raw.prepare('UPDATE crew_migration_lock SET heartbeat_ms = ? WHERE id = 1 AND token = ?').run(Date.now(), token);
    } catch {
      /* busy: the next beat retries */
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();
  try {
    return await fn({ db, recoveredStale });
  } finally {
    clearInterval(heartbeat);
    await releaseSqliteLock(raw, token).catch(() => {});
  }
}

async function releaseSqliteLock(raw: SqliteHandle, token: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      raw.prepare('DELETE FROM crew_migration_lock WHERE id = 1 AND token = ?').run(token);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY' || attempt > 20) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
