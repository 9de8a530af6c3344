import type { Kysely } from 'kysely';
import type { Expectations, MigrationContext } from '../migrate/migration.ts';

// Audit trail of security events (2FA set up, enabled, sign-ins, failures, lockouts). Frozen once released.

export const creates = ['security_events'];

export const expects: Expectations = {
  users: { id: 'required' },
  security_events: {
    id: 'required',
    user_id: 'required',
    type: 'required',
    created_at_ms: 'required',
    ip: { type: 'text' },
    user_agent: { type: 'text' },
    detail: { type: 'text' },
  },
};

export async function up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  const pg = ctx.dialect === 'postgres';
  await db.schema
    .createTable('security_events')
    .addColumn('id', pg ? 'serial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('detail', 'text')
    .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('security_events_user_idx').on('security_events').columns(['user_id', 'created_at_ms']).execute();
  ctx.report('✓ security_events table created');
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('security_events').execute();
}
