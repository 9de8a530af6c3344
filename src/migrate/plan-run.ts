import { sql, type Kysely } from 'kysely';
import { BackupError, type EngineAdapter } from '../db/engine-adapter.ts';
import type { MigrationContext } from './migration.ts';
import type { Reporter } from './reporter.ts';
import type { Progress } from './secret-sweep.ts';
import type { SchemaAccess } from './up-or-adopt.ts';

/** Everything an executor (apply, dry run, rollback) needs besides its plan; made fresh for each operation. */
export interface PlanRun {
  /** The connection that holds the migration lock. */
  db: Kysely<any>;
  adapter: EngineAdapter;
  reporter: Reporter;
  now: () => Date;
  /** How many automatic backups to keep, and where (default: the engine's place). */
  backup: { keep: number; dir?: string };
  /** Handed to migrations that encrypt data (the legacy plain TOTP secrets). */
  encryptSecret?: (plain: string) => string;
  /** Handed to migrations whose down() hands secrets back in plain text (the way back to the Flask app). */
  decryptSecret?: (envelope: string) => string;
  /** Receives the progress of long data passes (the CLI draws a bar on a TTY); without it they report progress lines. */
  progress?: (p: Progress) => void;
  /** Rows per transaction of the secret sweep (default SWEEP_BATCH_ROWS). */
  sweepBatchRows?: number;
}

/** The context a migration's up()/down() receives, reading the schema through `trx` and reporting to `reporter`. */
export function migrationContext(run: PlanRun, trx: Kysely<any>, reporter: Reporter): MigrationContext {
  return {
    sql,
    dialect: run.adapter.dialect,
    columnsOf: (table) => run.adapter.columnsOf(trx, table),
    report: (line) => reporter.line(line),
    ...(run.encryptSecret ? { encryptSecret: run.encryptSecret } : {}),
    ...(run.decryptSecret ? { decryptSecret: run.decryptSecret } : {}),
  };
}

/** The adapter's schema reading and column types, bound to one transaction. */
export function schemaAccess(run: PlanRun, trx: Kysely<any>): SchemaAccess {
  return { columnsOf: (table) => run.adapter.columnsOf(trx, table), columnType: (type) => run.adapter.columnType(type) };
}

/** Writes the backup a plan asks for and reports its path; a failed backup stops the operation before any change. */
export async function backUp(run: PlanRun, purpose: 'migrate' | 'rollback' | 'forget'): Promise<string> {
  let path: string;
  try {
    path = await run.adapter.backup({ keep: run.backup.keep, ...(run.backup.dir ? { dir: run.backup.dir } : {}), now: run.now() });
  } catch (error) {
    if (!(error instanceof BackupError)) throw error;
    throw new BackupError(`${error.message}; nothing was ${{ migrate: 'migrated', rollback: 'rolled back', forget: 'forgotten' }[purpose]}`, { cause: error });
  }
  run.reporter.line(`✓ Backup written to ${path}`);
  return path;
}

/** Thrown inside a dry run's transaction so that everything it did is rolled back. */
export class DryRunRollback extends Error {
  override name = 'DryRunRollback';
}

/** Runs `fn` in a write transaction that is always rolled back. */
export async function inRolledBackTransaction(run: PlanRun, fn: (trx: Kysely<any>) => Promise<void>): Promise<void> {
  try {
    await run.adapter.writeTransaction(run.db, async (trx) => {
      await fn(trx);
      throw new DryRunRollback();
    });
  } catch (error) {
    if (!(error instanceof DryRunRollback)) throw error;
  }
}
