import type { Kysely } from 'kysely';
import type { Expectations, MigrationContext } from '../migrate/migration.ts';

// Server-side sessions. `id` is the SHA-256 of the cookie token, never the token itself. Frozen once released.

export const creates = ['sessions'];

export const expects: Expectations = {
  users: { id: 'required' },
  sessions: {
    id: 'required',
    user_id: 'required',
    state: 'required',
    csrf_token: 'required',
    created_at_ms: 'required',
    last_seen_at_ms: 'required',
    expires_at_ms: 'required',
    two_factor_failures: { type: 'integer', notNull: true, default: 0 },
    ip: { type: 'text' },
    user_agent: { type: 'text' },
  },
};

export async function up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('two_factor_failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .execute();
  await db.schema.createIndex('sessions_user_id_idx').on('sessions').column('user_id').execute();
  await db.schema.createIndex('sessions_expires_at_ms_idx').on('sessions').column('expires_at_ms').execute();
  ctx.report('✓ sessions table created');
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sessions').execute();
}
