import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type OpenDatabase } from '../../src/db/open-database.ts';
import { prepareQuery } from '../../src/db/prepared-query.ts';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';

// A query compiled once and bound per call must run exactly like the same query built for those values, on both engines.

describe.each(TEST_DIALECTS)('prepareQuery on %s', (kind) => {
  let test: TestDatabase;
  let open: OpenDatabase;
  // The table is not in the app's schema type: these tests reach it through an untyped view of the same instance.
  const db = () => open.db as unknown as Kysely<{ things: { id: number; label: string; hits: number } }>;
  beforeEach(async () => {
    test = await createTestDatabase(kind);
    open = await openDatabase(test.config);
    await sql`CREATE TABLE things (id integer PRIMARY KEY, label text NOT NULL, hits integer NOT NULL)`.execute(open.db);
  });
  afterEach(async () => {
    await open.close();
    await test.cleanup();
  });

  it('binds each call’s values, a name used twice included, and keeps compile-time values', async () => {
    const insert = prepareQuery(['id', 'label'], (p) => db().insertInto('things').values({ id: p('id'), label: p('label'), hits: 7 }));
    await db().executeQuery(insert.bind({ id: 1, label: 'one' }));
    await db().executeQuery(insert.bind({ id: 2, label: 'two' }));
    const bump = prepareQuery(['id', 'by'], (p) =>
      db().updateTable('things').set({ hits: sql<number>`hits + ${p('by')}` }).where('id', '=', p('id')).where('hits', '<', sql<number>`100 + ${p('by')}`).returning(['id', 'hits']),
    );
    expect((await db().executeQuery(bump.bind({ id: 2, by: 5 }))).rows.map((r) => [Number(r.id), Number(r.hits)])).toEqual([[2, 12]]);
    const result = await db().executeQuery(bump.bind({ id: 3, by: 5 }));
    expect(result.rows).toEqual([]);
    const rows = await db().selectFrom('things').select(['id', 'label', 'hits']).orderBy('id').execute();
    expect(rows.map((r) => [Number(r.id), r.label, Number(r.hits)])).toEqual([
      [1, 'one', 7],
      [2, 'two', 12],
    ]);
    const remove = prepareQuery(['id'], (p) => db().deleteFrom('things').where('id', '=', p('id')));
    expect(Number((await db().executeQuery(remove.bind({ id: 1 }))).numAffectedRows)).toBe(1);
    expect(Number((await db().executeQuery(remove.bind({ id: 1 }))).numAffectedRows)).toBe(0);
  });

  it('refuses an unknown, unused, missing or inlined parameter', () => {
    expect(() => prepareQuery(['id'] as const, (p) => db().deleteFrom('things').where('id', '=', p('nope' as 'id')))).toThrow(/unknown parameter nope/);
    expect(() => prepareQuery(['id', 'label'], (p) => db().deleteFrom('things').where('id', '=', p('id')))).toThrow(/label is not used/);
    const remove = prepareQuery(['id'], (p) => db().deleteFrom('things').where('id', '=', p('id')));
    expect(() => remove.bind({} as { id: number })).toThrow(/no value for parameter id/);
    expect(() => prepareQuery(['id'], (p) => db().deleteFrom('things').where('label', '=', sql.lit(p('id'))))).toThrow(/inlined/);
  });
});
