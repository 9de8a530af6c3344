import { Kysely, PostgresDialect, sql } from 'kysely';
import type { Database } from './database.ts';
import { DatabaseMissingError, DatabaseOpenError, type EngineAdapter, type OpenOptions } from './engine-adapter.ts';
import { pollForLock } from './lock-polling.ts';
import { backupPostgres } from './postgres-backup.ts';

/** Arbitrary constant key for pg_advisory_lock: "crew" in ASCII. */
export const PG_ADVISORY_LOCK_KEY = 0x63726577;

/** PostgreSQL's type id of int8 (bigint). */
const INT8_OID = 20;

/**
 * Opens a PostgreSQL pool and checks that it answers. Type parsers belong to this pool only (never
 * `pg.types.setTypeParser`, which would change every other pg user in the process): int8 columns hold
 * epoch milliseconds and time steps, well inside 2^53, so they are read as numbers.
 */
export async function openPostgres(url: string, options: OpenOptions = {}): Promise<{ db: Kysely<Database>; adapter: EngineAdapter }> {
  const pg = (await import('pg')).default;
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === INT8_OID && format !== 'binary' ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')),
  } as unknown as import('pg').CustomTypesConfig;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 5000,
    application_name: 'crew',
    types,
    // A read-only command cannot write even by mistake: the server refuses every write in its transactions.
    ...(options.readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
  });
  pool.on('error', () => {
    /* an idle client lost its connection; the next query reconnects */
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const location = redactUrl(url);
  try {
    await sql`SELECT 1`.execute(db);
  } catch (error) {
    await db.destroy().catch(() => {});
    if ((error as { code?: string }).code === '3D000') {
      const name = decodeURIComponent(new URL(url).pathname.slice(1));
      throw new DatabaseMissingError(`no database at ${location} (set DATABASE_URL, or create it with \`createdb ${name}\` and run \`crew migrate\`)`, { cause: error });
    }
    const message = error instanceof Error ? error.message : String(error);
    throw new DatabaseOpenError(`cannot reach PostgreSQL at ${location}: ${message || (error as { code?: string }).code}`, { cause: error });
  }
  return { db, adapter: postgresAdapter(db, url, location) };
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

function postgresAdapter(owner: Kysely<Database>, url: string, location: string): EngineAdapter {
  return {
    dialect: 'postgres',
    location,
    databaseFile: null,
    backupBeforeMigrate: false,
    writeTransaction: (db, fn) => db.transaction().execute(fn), // DDL is transactional; foreign keys need no switching
    withMigrationLock(db, options, fn) {
      // A session advisory lock: the server releases it if the runner dies. It lives on ONE connection,
      // so the locked work runs on that connection too.
      return db.connection().execute(async (conn) => {
        await pollForLock(
          async () => {
            const r = await sql<{ ok: boolean }>`SELECT pg_try_advisory_lock(${PG_ADVISORY_LOCK_KEY}) AS ok`.execute(conn);
            return r.rows[0]?.ok ? { taken: true, value: null } : { taken: false, holder: await advisoryLockHolder(conn) };
          },
          options,
          location,
        );
        try {
          return await fn({ db: conn, recoveredStale: null });
        } finally {
          await sql`SELECT pg_advisory_unlock(${PG_ADVISORY_LOCK_KEY})`.execute(conn).catch(() => {});
        }
      });
    },
    async columnsOf(db, table) {
      const exists = await sql`SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ${table}`.execute(db);
      if (exists.rows.length === 0) return null;
      const rows = await sql<{ column_name: string }>`SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${table} ORDER BY ordinal_position`.execute(db);
      return rows.rows.map((r) => r.column_name.toLowerCase());
    },
    async listTables(db) {
      const rows = await sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`.execute(db);
      return rows.rows.map((r) => r.table_name);
    },
    columnType: (type) => (type === 'timestamp' ? 'timestamptz' : type),
    async widenToText(db, table, column) {
      const r = await sql<{ data_type: string }>`SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${table} AND column_name = ${column}`.execute(db);
      if (r.rows[0]?.data_type !== 'character varying' && r.rows[0]?.data_type !== 'character') return false;
      // ALTER … TYPE text keeps every value (what the frozen 0006 does): no cast can fail from varchar to text.
      await sql`ALTER TABLE ${sql.table(table)} ALTER COLUMN ${sql.ref(column)} TYPE text`.execute(db);
      return true;
    },
    // Old row versions stay in the table's pages until VACUUM reuses them; see docs/SECURITY.md for what an operator does.
    overwritingFreedSpace: async (fn) => (await fn(), null),
    backup: (options) => backupPostgres(url, options),
    close: () => owner.destroy(),
  };
}

/** Who holds the migration advisory lock, for the "waiting" and time-out messages. */
async function advisoryLockHolder(conn: Kysely<any>): Promise<string> {
  const r = await sql<{ pid: number; application_name: string }>`SELECT l.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = ${PG_ADVISORY_LOCK_KEY} LIMIT 1`.execute(conn);
  const row = r.rows[0];
  return row ? `PostgreSQL session pid ${row.pid}${row.application_name ? ` (${row.application_name})` : ''}` : `advisory lock ${PG_ADVISORY_LOCK_KEY}`;
}
