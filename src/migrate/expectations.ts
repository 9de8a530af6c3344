import { sql, type Kysely } from 'kysely';
import type { AddableColumn, Expectations } from './migration.ts';

/** What the live schema lacks compared with a migration's expectations. */
export interface SchemaDrift {
  missingTables: string[];
  /** table → columns that are missing */
  missingColumns: Record<string, string[]>;
}

/** Reads a table's column names from the live schema (null when the table is missing); the engine adapter provides it. */
export type ColumnReader = (table: string) => Promise<string[] | null>;

/** Compares the live schema with expectations; an empty drift means everything is there. */
export async function findDrift(columnsOf: ColumnReader, expects: Expectations): Promise<SchemaDrift> {
  const drift: SchemaDrift = { missingTables: [], missingColumns: {} };
  for (const [table, columns] of Object.entries(expects)) {
    const live = await columnsOf(table);
    if (live === null) {
      drift.missingTables.push(table);
      continue;
    }
    const missing = Object.keys(columns).filter((c) => !live.includes(c.toLowerCase()));
    if (missing.length > 0) drift.missingColumns[table] = missing;
  }
  return drift;
}

/** True when nothing is missing. */
export function isEmptyDrift(drift: SchemaDrift): boolean {
  return drift.missingTables.length === 0 && Object.keys(drift.missingColumns).length === 0;
}

/** One line per problem, e.g. "two_factor_auth: missing column(s) secret, enabled". */
export function describeDrift(drift: SchemaDrift): string[] {
  return [
    ...drift.missingTables.map((t) => `${t}: table missing`),
    ...Object.entries(drift.missingColumns).map(([t, cols]) => `${t}: missing column(s) ${cols.join(', ')}`),
  ];
}

/** Adds one column that the migration declared safe to add (nullable, or NOT NULL with a constant default), as the engine's `sqlType`. */
export async function addColumn(db: Kysely<any>, table: string, column: string, spec: AddableColumn, sqlType: string): Promise<void> {
  await db.schema
    .alterTable(table)
    .addColumn(column, sql.raw(sqlType) as never, (c) => {
      let b = c;
      if (spec.default !== undefined) b = b.defaultTo(spec.default);
      if (spec.notNull) b = b.notNull();
      return b;
    })
    .execute();
}
