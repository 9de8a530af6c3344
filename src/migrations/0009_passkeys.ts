import type { Kysely } from 'kysely';
import type { Expectations, MigrationContext } from '../migrate/migration.ts';

// Passkeys (WebAuthn Level 3 credential records, §6.4 / §7.1 step 27) and the single-use ceremony challenges (§13.4.3).
// A credential is stored as the library returns it: id and public key base64url, the signature counter, transports
// (JSON array), AAGUID; never a private key (the authenticator keeps it). Frozen once released.

export const creates = ['passkeys', 'webauthn_challenges'];

export const expects: Expectations = {
  users: { id: 'required' },
  passkeys: {
    id: 'required',
    user_id: 'required',
    credential_id: 'required',
    public_key: 'required',
    sign_count: 'required',
    name: 'required',
    created_at_ms: 'required',
    transports: { type: 'text' },
    aaguid: { type: 'text' },
    backed_up: { type: 'integer', notNull: true, default: 0 },
    last_used_at_ms: { type: 'bigint' },
  },
  webauthn_challenges: {
    challenge: 'required',
    purpose: 'required',
    binding: 'required',
    expires_at_ms: 'required',
    user_id: { type: 'integer' },
  },
};

export async function up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  const pg = ctx.dialect === 'postgres';
  await db.schema
    .createTable('passkeys')
    .addColumn('id', pg ? 'serial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('credential_id', 'text', (c) => c.notNull().unique())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('sign_count', 'bigint', (c) => c.notNull())
    .addColumn('transports', 'text')
    .addColumn('aaguid', 'text')
    .addColumn('backed_up', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at_ms', 'bigint')
    .execute();
  await db.schema.createIndex('passkeys_user_id_idx').on('passkeys').column('user_id').execute();
  ctx.report('✓ passkeys table created');
  // One row per issued challenge, deleted by the one statement that consumes it (compare-and-swap: a second use finds
  // nothing). `binding` is the SHA-256 of the session (or of the passkey sign-in cookie) it was issued to.
  await db.schema
    .createTable('webauthn_challenges')
    .addColumn('challenge', 'text', (c) => c.primaryKey())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('binding', 'text', (c) => c.notNull())
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webauthn_challenges_expires_idx').on('webauthn_challenges').column('expires_at_ms').execute();
  ctx.report('✓ webauthn_challenges table created');
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('webauthn_challenges').execute();
  await db.schema.dropTable('passkeys').execute();
}
