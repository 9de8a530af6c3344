import type { Kysely } from 'kysely';
import type { Expectations, MigrationContext } from '../migrate/migration.ts';

// Remembered devices ("Remember this device for 30 days" on the code step): the SHA-256 of the device cookie's random
// token (never the token), its user, when it was made, last used and expires, and the browser that asked. Frozen once
// released.

export const creates = ['remembered_devices'];

export const expects: Expectations = {
  users: { id: 'required' },
  remembered_devices: {
    id: 'required',
    token_hash: 'required',
    user_id: 'required',
    created_at_ms: 'required',
    last_used_at_ms: 'required',
    expires_at_ms: 'required',
    user_agent: { type: 'text' },
    ip: { type: 'text' },
  },
};

export async function up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  const pg = ctx.dialect === 'postgres';
  await db.schema
    .createTable('remembered_devices')
    .addColumn('id', pg ? 'serial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('user_agent', 'text')
    .addColumn('ip', 'text')
    .execute();
  await db.schema.createIndex('remembered_devices_user_id_idx').on('remembered_devices').column('user_id').execute();
  ctx.report('✓ remembered_devices table created');
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('remembered_devices').execute();
}
