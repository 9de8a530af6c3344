import type { Kysely } from 'kysely';
import type { Expectations, MigrationContext } from '../migrate/migration.ts';

// The earlier Flask app stored TOTP secrets as plain base32 in two_factor_auth.secret. This encrypts
// every such secret at rest with the app's AES-256-GCM envelope (OWASP ASVS 2.9.1 / 6.2.1), keeping
// the column. down() is a no-op: the app reads both forms. Frozen once released.

const PLAIN_BASE32 = /^[A-Z2-7]{16,128}=*$/i;

export const expects: Expectations = { two_factor_auth: { secret: 'required' } };

export async function up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  if (ctx.dialect === 'postgres') {
    // The Flask schema declared secret VARCHAR(32): too short for the envelope. Widening to text keeps every value.
    await db.schema.alterTable('two_factor_auth').alterColumn('secret', (c) => c.setDataType('text')).execute();
  }
  const rows = (await db.selectFrom('two_factor_auth').select(['id', 'secret']).execute()) as Array<{ id: number; secret: string }>;
  const plain = rows.filter((r) => typeof r.secret === 'string' && PLAIN_BASE32.test(r.secret.replace(/\s/g, '')));
  if (plain.length === 0) return;
  if (!ctx.encryptSecret) throw new Error(`${plain.length} plain-text TOTP secret(s) need encrypting, but no encryption key is configured (CREW_ENCRYPTION_KEY)`);
  for (const row of plain) {
    await db
      .updateTable('two_factor_auth')
      .set({ secret: ctx.encryptSecret(row.secret.replace(/\s/g, '').replace(/=+$/, '').toUpperCase()) })
      .where('id', '=', row.id)
      .where('secret', '=', row.secret)
      .execute();
  }
  ctx.report(`✓ encrypted ${plain.length} plain-text TOTP secret(s) left by the earlier app`);
}

export async function down(): Promise<void> {
  // Nothing to undo: encrypted secrets stay encrypted and the app reads them.
}
