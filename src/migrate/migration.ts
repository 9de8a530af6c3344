import type { Kysely, sql } from 'kysely';
import type { Dialect, PortableColumnType } from '../db/engine-adapter.ts';

/** A column a migration can add to an adopted table without risk (nullable, or NOT NULL with a constant default). */
export interface AddableColumn {
  type: PortableColumnType;
  notNull?: boolean;
  default?: string | number | boolean;
}

/**
 * What a migration expects to exist once applied: table → column → `'required'`
 * (must already be there when adopting) or how to add it safely.
 */
export type Expectations = Record<string, Record<string, 'required' | AddableColumn>>;

/** What the runner hands every migration besides the transaction. */
export interface MigrationContext {
  /**
   * Kysely's `sql` tag, from crew's own copy: a migration in the app's folder needs no `import` (and no install)
   * to write raw SQL: `export async function up(db, { sql }) { await sql\`…\`.execute(db); }`.
   */
  sql: typeof sql;
  /** The engine, for the few places where SQL differs (like Alembic's `op.get_bind().dialect`). */
  dialect: Dialect;
  /** Column names of a table in the live schema, or null if it does not exist. */
  columnsOf(table: string): Promise<string[] | null>;
  /** A line for the migration report (e.g. "✓ users table created"). */
  report(line: string): void;
  /** Encrypts a TOTP secret with the app's current key (AES-256-GCM envelope); absent when no key is configured. */
  encryptSecret?: (plain: string) => string;
  /** Decrypts such an envelope back to the base32 secret (a rollback handing secrets back to the Flask app); absent when no key is configured. */
  decryptSecret?: (envelope: string) => string;
}

/** What a migration declares about the schema: the tables it creates and what must exist afterwards. */
export interface MigrationDeclaration {
  expects: Expectations;
  /** Tables this migration creates; if they all exist already, the runner adopts them instead of running `up`. */
  creates?: string[];
}

/** The exports of a migration file `NNNN_name.ts`. */
export interface MigrationModule extends MigrationDeclaration {
  up(db: Kysely<any>, ctx: MigrationContext): Promise<void>;
  down(db: Kysely<any>, ctx: MigrationContext): Promise<void>;
  /** SQLite: the migration rebuilds tables (the 12-step procedure), so foreign keys are switched off around its transaction. */
  rebuildsTables?: boolean;
}

/** A migration file found on disk. */
export interface MigrationFile {
  /** File name without extension, e.g. `0002_2fa`. */
  id: string;
  /** The name users type, e.g. `2fa`. */
  name: string;
  order: number;
  path: string;
  /** SHA-256 (hex) of the file's text with line endings normalised (per-engine SQL: over both files). */
  checksum: string;
  /** Where it came from: crew's built-ins (src/migrations in crew's package) or the app's own folder. */
  source: MigrationSource;
  /** Plain SQL written once per engine (`NNNN_name.sqlite.sql`, `NNNN_name.postgres.sql`): each engine's file. */
  variants?: Partial<Record<Dialect, string>>;
}

/** Where a migration comes from: `crew` (built in, shipped with crew) or `app` (your folder). */
export type MigrationSource = 'crew' | 'app';
