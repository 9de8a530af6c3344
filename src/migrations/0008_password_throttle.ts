import type { Kysely } from 'kysely';
import type { Expectations, MigrationContext } from '../migrate/migration.ts';

// Per-account password throttling shared by every app instance (NIST SP 800-63B §5.2.2). One row per attempted
// username, known or not, keyed by an HMAC of the normalised username, so the table answers the same for unknown
// names and never lists the names people typed. Frozen once released.

export const creates = ['password_throttle'];

export const expects: Expectations = {
  password_throttle: {
    key_hash: 'required',
    failed_count: { type: 'integer', notNull: true, default: 0 },
    attempts_since_success: { type: 'integer', notNull: true, default: 0 },
    locked_until_ms: { type: 'bigint' },
    updated_at_ms: 'required',
  },
};

export async function up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  await db.schema
    .createTable('password_throttle')
    .addColumn('key_hash', 'text', (c) => c.primaryKey())
    .addColumn('failed_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('attempts_since_success', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_until_ms', 'bigint')
    .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('password_throttle_updated_at_ms_idx').on('password_throttle').column('updated_at_ms').execute();
  ctx.report('✓ password_throttle table created');
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('password_throttle').execute();
}
