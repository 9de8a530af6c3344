import type { Kysely } from 'kysely';
import type { Expectations, MigrationContext } from '../migrate/migration.ts';

// Adds to two_factor_auth what sign-in needs to be replay- and brute-force-safe across instances:
// the last accepted TOTP step (RFC 6238 §5.2) and a shared failure counter with lockout
// (NIST SP 800-63B §5.2.2). Never renames or drops the guide's columns. Frozen once released.

const COLUMNS = [
  ['last_used_totp_step', 'bigint', null],
  ['failed_attempts', 'integer', 0],
  ['locked_until_ms', 'bigint', null],
  ['lockout_count', 'integer', 0],
  ['updated_at_ms', 'bigint', null],
] as const;

export const expects: Expectations = {
  two_factor_auth: {
    last_used_totp_step: { type: 'bigint' },
    failed_attempts: { type: 'integer', notNull: true, default: 0 },
    locked_until_ms: { type: 'bigint' },
    lockout_count: { type: 'integer', notNull: true, default: 0 },
    updated_at_ms: { type: 'bigint' },
  },
};

export async function up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  const existing = (await ctx.columnsOf('two_factor_auth')) ?? [];
  for (const [name, type, fallback] of COLUMNS) {
    if (existing.includes(name)) continue;
    await db.schema
      .alterTable('two_factor_auth')
      .addColumn(name, type, (c) => (fallback === null ? c : c.notNull().defaultTo(fallback)))
      .execute();
    ctx.report(`✓ two_factor_auth.${name} added`);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [name] of [...COLUMNS].reverse()) {
    await db.schema.alterTable('two_factor_auth').dropColumn(name).execute();
  }
}
