import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../db/open-database.ts';

/**
 * Runs `fn` in one transaction that will write. On SQLite it starts with BEGIN IMMEDIATE, taking the
 * write lock up front (waiting up to the busy timeout): a deferred transaction that reads first and
 * upgrades later fails at once with "database is locked" when another process wrote in between.
 */
export async function writeTransaction<T>(db: Kysely<any>, dialect: Dialect, fn: (trx: Kysely<any>) => Promise<T>): Promise<T> {
  if (dialect !== 'sqlite') return db.transaction().execute(fn);
  return db.connection().execute(async (conn) => {
    await sql`BEGIN IMMEDIATE`.execute(conn);
    let result: T;
    try {
      result = await fn(conn);
    } catch (error) {
      await sql`ROLLBACK`.execute(conn).catch(() => {});
      throw error;
    }
    await sql`COMMIT`.execute(conn);
    return result;
  });
}
