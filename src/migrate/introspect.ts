import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../db/open-database.ts';

/** Column names of a table in the live schema (lower-case), or null if the table does not exist. */
export async function columnsOf(db: Kysely<any>, dialect: Dialect, table: string): Promise<string[] | null> {
  if (dialect === 'sqlite') {
    const rows = await sql<{ name: string }>`SELECT name FROM pragma_table_info(${table})`.execute(db);
    return rows.rows.length === 0 ? null : rows.rows.map((r) => r.name.toLowerCase());
  }
  const exists = await sql<{ n: number }>`SELECT 1 AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ${table}`.execute(db);
  if (exists.rows.length === 0) return null;
  const rows = await sql<{ column_name: string }>`SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${table} ORDER BY ordinal_position`.execute(db);
  return rows.rows.map((r) => r.column_name.toLowerCase());
}

/** Names of the user tables in the live schema. */
export async function listTables(db: Kysely<any>, dialect: Dialect): Promise<string[]> {
  if (dialect === 'sqlite') {
    const rows = await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`.execute(db);
    return rows.rows.map((r) => r.name);
  }
  const rows = await sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`.execute(db);
  return rows.rows.map((r) => r.table_name);
}
