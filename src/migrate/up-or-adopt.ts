import type { Kysely } from 'kysely';
import type { PortableColumnType } from '../db/engine-adapter.ts';
import { addColumn, describeDrift, findDrift, isEmptyDrift, type ColumnReader } from './expectations.ts';
import type { AddableColumn, MigrationContext, MigrationModule } from './migration.ts';

/** How up-or-adopt reads the live schema and names column types: the engine adapter's, bound to the transaction. */
export interface SchemaAccess {
  columnsOf: ColumnReader;
  columnType(type: PortableColumnType): string;
}

/**
 * Runs a migration's `up`, or — when every table it `creates` already exists (a database made by the
 * earlier Flask app or by hand) — adopts them: verifies the expected columns, adds the ones that are
 * safe to add, and fails listing those that are not. Returns true when adopted.
 */
export async function upOrAdopt(trx: Kysely<any>, schema: SchemaAccess, mod: MigrationModule, ctx: MigrationContext): Promise<boolean> {
  const creates = mod.creates ?? [];
  const existing: string[] = [];
  for (const t of creates) if ((await schema.columnsOf(t)) !== null) existing.push(t);
  if (existing.length > 0 && existing.length < creates.length) {
    throw new Error(`found ${existing.join(', ')} but not ${creates.filter((t) => !existing.includes(t)).join(', ')}; a half-made schema needs a person to decide`);
  }
  const adopting = creates.length > 0 && existing.length === creates.length;
  if (adopting) {
    for (const t of creates) ctx.report(`✓ ${t} table already exists`);
  } else {
    await mod.up(trx, ctx);
  }
  const drift = await findDrift(schema.columnsOf, mod.expects);
  if (adopting && !isEmptyDrift(drift)) {
    const unsafe: string[] = [];
    for (const [table, cols] of Object.entries(drift.missingColumns)) {
      for (const col of cols) {
        const spec = mod.expects[table]![col]!;
        if (spec === 'required') unsafe.push(`${table}.${col}`);
      }
    }
    if (unsafe.length > 0 || drift.missingTables.length > 0) {
      throw new Error(`cannot adopt the existing table(s): missing ${[...drift.missingTables.map((t) => `table ${t}`), ...unsafe].join(', ')}, which cannot be added safely`);
    }
    for (const [table, cols] of Object.entries(drift.missingColumns)) {
      for (const col of cols) {
        const spec = mod.expects[table]![col] as AddableColumn;
        await addColumn(trx, table, col, spec, schema.columnType(spec.type));
        ctx.report(`✓ added missing column ${table}.${col}`);
      }
    }
  } else if (!isEmptyDrift(drift)) {
    throw new Error(`after up(), the schema still lacks: ${describeDrift(drift).join('; ')}`);
  }
  const addsColumns = Object.values(mod.expects).some((cols) => Object.values(cols).some((c) => c !== 'required'));
  if (adopting || (creates.length === 0 && addsColumns)) ctx.report('✓ All required columns present');
  return adopting;
}
