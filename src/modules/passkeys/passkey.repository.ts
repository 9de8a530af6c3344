import type { Selectable } from 'kysely';
import type { AppDb, PasskeysTable } from '../../db/database.ts';

/** A stored passkey as the app sees it (the public key stays base64url; nothing here is secret). */
export interface Passkey {
  id: number;
  userId: number;
  /** base64url credential id (WebAuthn §4 "Credential ID"). */
  credentialId: string;
  /** base64url COSE public key. */
  publicKey: string;
  signCount: number;
  transports: string[];
  aaguid: string | null;
  backedUp: boolean;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** What registering a passkey stores: a {@link Passkey} before it has an id or a use. */
export type NewPasskey = Omit<Passkey, 'id' | 'createdAt' | 'lastUsedAt'> & { createdAtMs: number };

/** Longest passkey name kept (characters). */
export const MAX_PASSKEY_NAME_LENGTH = 64;

function toPasskey(row: Selectable<PasskeysTable>): Passkey {
  let transports: string[] = [];
  try {
    const parsed: unknown = row.transports ? JSON.parse(row.transports) : [];
    if (Array.isArray(parsed)) transports = parsed.filter((t): t is string => typeof t === 'string');
  } catch {
    transports = [];
  }
  return {
    id: Number(row.id),
    userId: Number(row.user_id),
    credentialId: row.credential_id,
    publicKey: row.public_key,
    signCount: Number(row.sign_count),
    transports,
    aaguid: row.aaguid,
    backedUp: Number(row.backed_up) === 1,
    name: row.name,
    createdAt: new Date(Number(row.created_at_ms)),
    lastUsedAt: row.last_used_at_ms === null ? null : new Date(Number(row.last_used_at_ms)),
  };
}

/** The only code with SQL on the `passkeys` table. */
export class PasskeyRepository {
  constructor(readonly db: AppDb) {}

  /** Stores a new passkey; null when the credential id is already registered (to anyone: WebAuthn §7.1 step 26). */
  async insert(passkey: NewPasskey): Promise<Passkey | null> {
    const row = await this.db
      .insertInto('passkeys')
      .values({
        user_id: passkey.userId,
        credential_id: passkey.credentialId,
        public_key: passkey.publicKey,
        sign_count: passkey.signCount,
        transports: JSON.stringify(passkey.transports),
        aaguid: passkey.aaguid,
        backed_up: passkey.backedUp ? 1 : 0,
        name: passkey.name,
        created_at_ms: passkey.createdAtMs,
        last_used_at_ms: null,
      })
      .onConflict((oc) => oc.column('credential_id').doNothing())
      .returningAll()
      .executeTakeFirst();
    return row ? toPasskey(row) : null;
  }

  /** A user's passkeys, oldest first. */
  async listForUser(userId: number): Promise<Passkey[]> {
    const rows = await this.db.selectFrom('passkeys').selectAll().where('user_id', '=', userId).orderBy('id').execute();
    return rows.map(toPasskey);
  }

  /** Whether the user has at least one passkey. */
  async hasAny(userId: number): Promise<boolean> {
    const row = await this.db.selectFrom('passkeys').select('id').where('user_id', '=', userId).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /** The passkey with this credential id, whoever owns it. */
  async findByCredentialId(credentialId: string): Promise<Passkey | null> {
    const row = await this.db.selectFrom('passkeys').selectAll().where('credential_id', '=', credentialId).executeTakeFirst();
    return row ? toPasskey(row) : null;
  }

  /**
   * Compare-and-swap of the signature counter (WebAuthn §6.1.1, §7.2 step 22): moves it from the value this verification
   * read to the authenticator's new one and records the use. False when another use got there first (the counter
   * moved meanwhile): the caller refuses, so two assertions with one counter value cannot both sign in.
   */
  async advanceSignCount(passkey: Passkey, newSignCount: number, atMs: number): Promise<boolean> {
    const result = await this.db
      .updateTable('passkeys')
      .set({ sign_count: newSignCount, last_used_at_ms: atMs })
      .where('id', '=', passkey.id)
      .where('sign_count', '=', passkey.signCount)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Renames one of the user's passkeys; false when the user has no passkey with that id. */
  async rename(userId: number, id: number, name: string): Promise<boolean> {
    const result = await this.db.updateTable('passkeys').set({ name }).where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Removes one of the user's passkeys; false when the user has no passkey with that id (another user's stays). */
  async remove(userId: number, id: number): Promise<boolean> {
    const result = await this.db.deleteFrom('passkeys').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  /** Removes every passkey of a user (an operator's `crew 2fa reset`); returns how many. */
  async removeAllForUser(userId: number): Promise<number> {
    const result = await this.db.deleteFrom('passkeys').where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
