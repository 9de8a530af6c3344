import { hostname } from 'node:os';
import { sql, type Kysely } from 'kysely';
import type { OpenDatabase } from '../db/open-database.ts';

/** Another runner held the lock for longer than we were willing to wait. */
export class MigrationLockTimeoutError extends Error {
  override name = 'MigrationLockTimeoutError';
}

/** A held migration lock; `release` is idempotent. */
export interface MigrationLock {
  /** On PostgreSQL the session-level advisory lock lives on this connection, so the run uses it too. */
  db: Kysely<any>;
  /** Whether a lock left by a dead runner was taken over. */
  recoveredStale: string | null;
  release(): Promise<void>;
}

/** Arbitrary constant key for pg_advisory_lock: "crew" in ASCII. */
export const PG_ADVISORY_LOCK_KEY = 0x63726577;
/** A SQLite lock whose holder has not refreshed it for this long is considered abandoned (other host). */
export const SQLITE_LOCK_STALE_MS = 60_000;
const HEARTBEAT_MS = 5_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the one-runner-at-a-time lock and runs `fn` while holding it.
 * PostgreSQL: a session advisory lock (released by the server if the runner dies).
 * SQLite: a row in crew_migration_lock claimed inside BEGIN IMMEDIATE, so the check and the
 * claim are one atomic step between processes; a row left by a dead process is taken over.
 */
export async function withMigrationLock<T>(open: OpenDatabase, options: { timeoutMs?: number }, fn: (lock: MigrationLock) => Promise<T>): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  if (open.dialect === 'postgres') {
    return open.db.connection().execute(async (conn) => {
      const deadline = Date.now() + timeoutMs;
      let delay = 25;
      for (;;) {
        const r = await sql<{ ok: boolean }>`SELECT pg_try_advisory_lock(${PG_ADVISORY_LOCK_KEY}) AS ok`.execute(conn);
        if (r.rows[0]?.ok) break;
        if (Date.now() > deadline) throw new MigrationLockTimeoutError(`another migration runner holds the PostgreSQL advisory lock ${PG_ADVISORY_LOCK_KEY}; gave up after ${timeoutMs} ms`);
        await sleep(delay);
        delay = Math.min(delay * 2, 500);
      }
      let released = false;
      const release = async () => {
        if (released) return;
        released = true;
        await sql`SELECT pg_advisory_unlock(${PG_ADVISORY_LOCK_KEY})`.execute(conn);
      };
      try {
        return await fn({ db: conn, recoveredStale: null, release });
      } finally {
        await release().catch(() => {});
      }
    });
  }
  const raw = open.sqlite!;
  // Only create the table when it is missing: even CREATE TABLE IF NOT EXISTS wants the write lock,
  // which a long migration of another runner may hold.
  const exists = raw.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'crew_migration_lock'").get();
  if (!exists) raw.exec(`CREATE TABLE IF NOT EXISTS crew_migration_lock (
    id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, hostname TEXT NOT NULL,
    token TEXT NOT NULL, acquired_at_ms INTEGER NOT NULL, heartbeat_ms INTEGER NOT NULL)`);
  const token = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const host = hostname();
  const readHolder = raw.prepare('SELECT pid, hostname, heartbeat_ms FROM crew_migration_lock WHERE id = 1');
  const liveHolder = (): string | null => {
    const row = readHolder.get() as { pid: number; hostname: string; heartbeat_ms: number } | undefined;
    if (!row) return null;
    const dead = row.hostname === host ? !processIsAlive(row.pid) : Date.now() - row.heartbeat_ms > SQLITE_LOCK_STALE_MS;
    return dead ? null : `pid ${row.pid} on ${row.hostname}`;
  };
  const claim = raw.transaction((): { got: boolean; stale: string | null; holder: string } => {
    const row = readHolder.get() as { pid: number; hostname: string; heartbeat_ms: number } | undefined;
    const now = Date.now();
    let stale: string | null = null;
    if (row) {
      const holder = liveHolder();
      if (holder) return { got: false, stale: null, holder };
      stale = `pid ${row.pid} on ${row.hostname}`;
      raw.prepare('DELETE FROM crew_migration_lock WHERE id = 1').run();
    }
    raw.prepare('INSERT INTO crew_migration_lock (id, pid, hostname, token, acquired_at_ms, heartbeat_ms) VALUES (1, ?, ?, ?, ?, ?)').run(process.pid, host, token, now, now);
    return { got: true, stale, holder: '' };
  });
  const deadline = Date.now() + timeoutMs;
  let delay = 25;
  let result: { got: boolean; stale: string | null; holder: string };
  for (;;) {
    // Look first without the write lock, so waiting runners do not compete with the holder's migrations for it.
    const busyHolder = liveHolder();
    if (busyHolder) {
      result = { got: false, stale: null, holder: busyHolder };
      if (Date.now() > deadline) throw new MigrationLockTimeoutError(`another migration runner (${busyHolder}) holds the lock on ${open.sqlitePath}; gave up after ${timeoutMs} ms`);
      await sleep(delay);
      delay = Math.min(delay * 2, 250);
      continue;
    }
    try {
      result = claim.immediate();
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
      result = { got: false, stale: null, holder: 'a writer (database busy)' };
    }
    if (result.got) break;
    if (Date.now() > deadline) throw new MigrationLockTimeoutError(`another migration runner (${result.holder}) holds the lock on ${open.sqlitePath}; gave up after ${timeoutMs} ms`);
    await sleep(delay);
    delay = Math.min(delay * 2, 250);
  }
  const heartbeat = setInterval(() => {
    try {
      raw.prepare('UPDATE crew_migration_lock SET heartbeat_ms = ? WHERE id = 1 AND token = ?').run(Date.now(), token);
    } catch {
      /* busy: the next beat retries */
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    clearInterval(heartbeat);
    for (let attempt = 0; ; attempt++) {
      try {
        raw.prepare('DELETE FROM crew_migration_lock WHERE id = 1 AND token = ?').run(token);
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_BUSY' || attempt > 20) throw error;
        await sleep(50);
      }
    }
  };
  try {
    return await fn({ db: open.db, recoveredStale: result.stale, release });
  } finally {
    await release().catch(() => {});
  }
}
