import { sql, type Kysely } from 'kysely';
import type { Expectations, MigrationContext } from '../migrate/migration.ts';

// The seed guide's two_factor_auth table, column for column. Frozen once released.

export const creates = ['two_factor_auth'];

export const expects: Expectations = {
  users: { id: 'required' },
  two_factor_auth: {
    id: 'required',
    user_id: 'required',
    secret: 'required',
    enabled: { type: 'boolean', notNull: true, default: false },
    backup_codes: { type: 'text' },
    created_at: { type: 'timestamp' },
  },
};

export async function up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  const pg = ctx.dialect === 'postgres';
  await db.schema
    .createTable('two_factor_auth')
    .addColumn('id', pg ? 'serial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('user_id', 'integer', (c) => c.notNull().unique().references('users.id').onDelete('cascade'))
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(false))
    // JSON array of salted argon2id hashes of the unused backup codes (NIST SP 800-63B §5.1.2.2).
    .addColumn('backup_codes', 'text')
    .addColumn('created_at', pg ? 'timestamptz' : 'timestamp', (c) => c.defaultTo(pg ? sql`now()` : sql`CURRENT_TIMESTAMP`))
    .execute();
  ctx.report('✓ two_factor_auth table created');
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('two_factor_auth').execute();
}
