import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../db/open-database.ts';
import { columnsOf } from './introspect.ts';
import type { AddableColumn, Expectations } from './migration.ts';

/** What the live schema lacks compared with a migration's expectations. */
export interface SchemaDrift {
  missingTables: string[];
  /** table → columns that are missing */
  missingColumns: Record<string, string[]>;
}

/** Compares the live schema with expectations; an empty drift means everything is there. */
export async function findDrift(db: Kysely<any>, dialect: Dialect, expects: Expectations): Promise<SchemaDrift> {
  const drift: SchemaDrift = { missingTables: [], missingColumns: {} };
  for (const [table, columns] of Object.entries(expects)) {
    const live = await columnsOf(db, dialect, table);
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

function columnType(spec: AddableColumn, dialect: Dialect): string {
  if (spec.type === 'timestamp') return dialect === 'postgres' ? 'timestamptz' : 'timestamp';
  return spec.type;
}

/** Adds one column that the migration declared safe to add (nullable, or NOT NULL with a constant default). */
export async function addColumn(db: Kysely<any>, dialect: Dialect, table: string, column: string, spec: AddableColumn): Promise<void> {
  await db.schema
    .alterTable(table)
    .addColumn(column, sql.raw(columnType(spec, dialect)) as never, (c) => {
      let b = c;
      if (spec.default !== undefined) b = b.defaultTo(spec.default);
      if (spec.notNull) b = b.notNull();
      return b;
    })
    .execute();
}
