import { sql, type Kysely } from 'kysely';
import type { Expectations, MigrationContext } from '../migrate/migration.ts';

// Frozen once released: the runner's checksum reports any edit. Types stay portable (Kysely<any>).

export const creates = ['users'];

export const expects: Expectations = {
  users: {
    id: 'required',
    username: 'required',
    password_hash: 'required',
    email: { type: 'text' },
    role: { type: 'text', notNull: true, default: 'user' },
    created_at: { type: 'timestamp' },
    updated_at: { type: 'timestamp' },
  },
};

export async function up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  const pg = ctx.dialect === 'postgres';
  const now = pg ? sql`now()` : sql`CURRENT_TIMESTAMP`;
  await db.schema
    .createTable('users')
    .addColumn('id', pg ? 'serial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('email', 'text')
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().defaultTo('user'))
    .addColumn('created_at', pg ? 'timestamptz' : 'timestamp', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', pg ? 'timestamptz' : 'timestamp', (c) => c.notNull().defaultTo(now))
    .execute();
  ctx.report('✓ users table created');
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('users').execute();
}
