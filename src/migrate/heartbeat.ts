import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import type { ColumnReader } from './expectations.ts';

// Each `crew serve` keeps one row here while it runs, so that a rollback knows servers are using the database
// (issue 11: rolling back `2fa` under a running server made every sign-in fail). The server creates the table,
// beats every HEARTBEAT_INTERVAL_MS and deletes its row on a clean shutdown; a row not beaten for
// HEARTBEAT_STALE_AFTER_MS is a server that died (kill -9, a crashed machine) and no longer counts.

/** The crew bookkeeping table of running servers. */
export const HEARTBEAT_TABLE = 'crew_server_heartbeats';

/** How often a server updates its row. */
export const HEARTBEAT_INTERVAL_MS = 15_000;

/** A row older than this (four missed beats) is a server that died without cleaning up. */
export const HEARTBEAT_STALE_AFTER_MS = 60_000;

/** One running server, as its row says. */
export interface ServerHeartbeat {
  id: string;
  host: string;
  pid: number;
  startedAt: string;
  beatAt: string;
}

/** Creates the heartbeat table if it is missing (the server does this on start; the migrations never do). */
export async function ensureHeartbeatTable(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable(HEARTBEAT_TABLE)
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('beat_at', 'text', (c) => c.notNull())
    .execute();
}

/**
 * The servers whose row was beaten within `staleAfterMs` of `now`; [] when no server ever ran (no table).
 * Stale rows are only ignored here, never deleted: a reader changes nothing.
 */
export async function freshHeartbeats(db: Kysely<any>, columnsOf: ColumnReader, now: Date, staleAfterMs: number = HEARTBEAT_STALE_AFTER_MS): Promise<ServerHeartbeat[]> {
  if ((await columnsOf(HEARTBEAT_TABLE)) === null) return [];
  const rows = await db.selectFrom(HEARTBEAT_TABLE).select(['id', 'host', 'pid', 'started_at', 'beat_at']).orderBy('started_at').execute();
  return rows
    .map((r) => ({ id: String(r.id), host: String(r.host), pid: Number(r.pid), startedAt: String(r.started_at), beatAt: String(r.beat_at) }))
    .filter((r) => now.getTime() - Date.parse(r.beatAt) < staleAfterMs);
}

/** A running heartbeat; `stop()` ends the beats and deletes the row (clean shutdown). */
export interface Heartbeat {
  id: string;
  /** One beat now (the timer calls it; tests call it directly). */
  beat(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts this server's heartbeat: creates the table if needed, inserts the row, and updates it every
 * `intervalMs` (timer unref'd, so it never keeps the process alive). A failed beat is reported, not thrown:
 * a database hiccup must not stop the server, and a missed beat only makes the row go stale.
 */
export async function startHeartbeat(
  db: Kysely<any>,
  options: { now?: () => Date; intervalMs?: number; onError?: (error: unknown) => void; host?: string; pid?: number } = {},
): Promise<Heartbeat> {
  const now = options.now ?? (() => new Date());
  const id = randomUUID();
  await ensureHeartbeatTable(db);
  const started = now().toISOString();
  // Rows of servers that died long ago are removed here, by a writer, so the table does not grow with every
  // kill -9. ISO-8601 UTC strings of one fixed format compare in time order as text.
  await db.deleteFrom(HEARTBEAT_TABLE).where('beat_at', '<=', new Date(now().getTime() - HEARTBEAT_STALE_AFTER_MS).toISOString()).execute();
  const row = { id, host: options.host ?? hostname(), pid: options.pid ?? process.pid, started_at: started, beat_at: started };
  await db.insertInto(HEARTBEAT_TABLE).values(row).execute();
  const beat = async () => {
    const result = await db.updateTable(HEARTBEAT_TABLE).set({ beat_at: now().toISOString() }).where('id', '=', id).executeTakeFirst();
    // Someone removed the row (a restore, a person): put it back, or rollbacks would not know this server runs.
    if (Number(result.numUpdatedRows) === 0) await db.insertInto(HEARTBEAT_TABLE).values({ ...row, beat_at: now().toISOString() }).execute();
  };
  const timer = setInterval(() => {
    beat().catch((error: unknown) => options.onError?.(error));
  }, options.intervalMs ?? HEARTBEAT_INTERVAL_MS);
  timer.unref();
  let stopped: Promise<void> | null = null;
  return {
    id,
    beat,
    stop: () =>
      (stopped ??= (async () => {
        clearInterval(timer);
        await db.deleteFrom(HEARTBEAT_TABLE).where('id', '=', id).execute();
      })()),
  };
}
