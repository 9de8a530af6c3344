import type { Kysely } from 'kysely';
import type { OpenDatabase } from '../db/open-database.ts';
import { applyPlan } from './apply-plan.ts';
import { ensureBookkeeping, forgetApplied, readApplied } from './bookkeeping.ts';
import { discoverAll } from './discover.ts';
import { freshHeartbeats } from './heartbeat.ts';
import { dryRunPlan, dryRunRollback } from './dry-run.ts';
import type { ColumnReader } from './expectations.ts';
import { loadMigration } from './load-migration.ts';
import type { MigrationDeclaration, MigrationFile } from './migration.ts';
import type { ForgetReport, MigrationReport, MigrationStatus, RollbackReport, VerifyReport } from './migration-report.ts';
import { findMigration, laterApplied, migrationStatus, planForget, planMigrate, planRollback, type ForgetPlan, type RollbackPlan } from './plan.ts';
import { backUp, type PlanRun } from './plan-run.ts';
import { createReporter, type Reporter } from './reporter.ts';
import { applyRollback } from './rollback.ts';
import { usersWithPlaintextSecrets, type Progress } from './secret-sweep.ts';
import { verifySchema, withPlaintextSecrets } from './verify.ts';

/** What a dry run's pretended encryption returns. */
const DRY_RUN_ENVELOPE = 'v1.<dry-run>';

/** Options shared by every runner operation. */
export interface RunnerOptions {
  /** crew's built-in migrations; default src/migrations in crew's package (tests pass a scratch copy). */
  migrationsDir?: string;
  /** The app's own migrations (run after the built-ins); null or absent: none. */
  appMigrationsDir?: string | null;
  /** A missing app folder holds no migrations (the default `./migrations`), instead of being an error. */
  appMigrationsDirOptional?: boolean;
  /** Keep this many automatic backups (in `dir`, default the engine's place); `false` skips the backup (`--no-backup`). */
  backup?: { keep: number; dir?: string } | false;
  /** Accept applied migrations whose file changed, and store the new checksums. */
  allowChanged?: boolean;
  lockTimeoutMs?: number;
  /** Receives report lines as they happen (the CLI prints them). */
  onLine?: (line: string) => void;
  now?: () => Date;
  /** Handed to migrations that encrypt data (the legacy plain TOTP secrets). */
  encryptSecret?: (plain: string) => string;
  /** Handed to migrations whose down() decrypts secrets (the way back to the Flask app). */
  decryptSecret?: (envelope: string) => string;
  /** Receives the progress of long data passes (the secret sweep); without it they report progress lines. */
  onProgress?: (p: Progress) => void;
  /** Rows per transaction of the secret sweep (default 5,000). */
  sweepBatchRows?: number;
}

/**
 * The facade `crew migrate`, `crew serve` and the tests use. Each operation gathers facts (files, bookkeeping
 * rows, live schema) under the migration lock, asks the pure planner (plan.ts) for a plan, and hands the plan
 * to an executor (apply, dry run, rollback). Nothing is kept between calls: one runner may run any operations.
 */
export class MigrationRunner {
  readonly #open: Pick<OpenDatabase, 'db' | 'adapter'>;
  readonly #options: RunnerOptions;

  constructor(open: Pick<OpenDatabase, 'db' | 'adapter'>, options: RunnerOptions = {}) {
    this.#open = open;
    this.#options = options;
  }

  /** The migration files in run order: crew's built-ins, then the app's own. */
  files(): MigrationFile[] {
    return discoverAll({
      ...(this.#options.migrationsDir ? { builtinsDir: this.#options.migrationsDir } : {}),
      appDir: this.#options.appMigrationsDir ?? null,
      appDirOptional: this.#options.appMigrationsDirOptional ?? false,
    });
  }

  /** The app's migrations folder, or null when this runner has none. */
  get appMigrationsDir(): string | null {
    return this.#options.appMigrationsDir ?? null;
  }

  /** Finds a migration by name (`2fa`) or id (`0002_2fa`); unknown names are bad usage (exit 2). */
  find(files: MigrationFile[], nameOrId: string): MigrationFile {
    return findMigration(files, nameOrId);
  }

  /** Every migration file with whether it is applied, plus applied rows whose file is gone. */
  async status(): Promise<MigrationStatus[]> {
    return migrationStatus(this.files(), await readApplied(this.#open.db, this.#columns(this.#open.db)));
  }

  /** Applies every pending migration, or just `target` (refused if earlier ones are pending); `dryRun` changes nothing. */
  async migrate(options: { target?: string; dryRun?: boolean } = {}): Promise<MigrationReport> {
    const files = this.files();
    if (options.target !== undefined) findMigration(files, options.target); // bad usage is reported before waiting for the lock
    const dryRun = options.dryRun ?? false;
    const reporter = createReporter(this.#options.onLine);
    return this.#locked(reporter, dryRun, async (db) => {
      if (!dryRun) await ensureBookkeeping(db, this.#columns(db));
      const facts = { files, applied: await readApplied(db, this.#columns(db)), tables: await this.#open.adapter.listTables(db) };
      const backup = !dryRun && this.#options.backup !== false && this.#open.adapter.backupBeforeMigrate;
      const plan = planMigrate(facts, { ...(options.target !== undefined ? { target: options.target } : {}), allowChanged: this.#options.allowChanged ?? false, backup });
      return dryRun ? dryRunPlan(plan, this.#dryRun(db, reporter)) : applyPlan(plan, this.#run(db, reporter));
    });
  }

  /**
   * Undoes one applied migration after a backup; refused while later applied migrations depend on it.
   * `confirm` sees the plan (what will be dropped) after those checks and before anything changes.
   */
  async rollback(nameOrId: string, options: { confirm?: (plan: RollbackPlan) => Promise<boolean>; dryRun?: boolean; force?: boolean } = {}): Promise<RollbackReport> {
    const files = this.files();
    const file = findMigration(files, nameOrId);
    const reporter = createReporter(this.#options.onLine);
    return this.#locked(reporter, options.dryRun ?? false, async (db) => {
      const applied = await readApplied(db, this.#columns(db));
      const declarations = new Map<string, MigrationDeclaration>();
      if (applied.some((a) => a.id === file.id)) {
        for (const f of [file, ...laterApplied(files, applied, file)]) declarations.set(f.id, await loadMigration(f));
      }
      // A dry run changes nothing, so running servers do not stop it.
      const servers = options.dryRun ? [] : await freshHeartbeats(db, this.#columns(db), this.#now());
      const plan = planRollback({ files, applied, declarations, servers }, { target: file.id, backup: this.#options.backup !== false, force: options.force ?? false });
      if (options.force && servers.length > 0) reporter.line(`! rolling back while ${servers.length} crew server(s) use this database (--force)`);
      if (options.dryRun) return dryRunRollback(plan, this.#dryRun(db, reporter));
      if (options.confirm && !(await options.confirm(plan))) {
        reporter.line('Cancelled; nothing was changed.');
        return { ok: false, cancelled: true, id: file.id, name: file.name, backupPath: null, lines: reporter.lines };
      }
      return applyRollback(plan, this.#run(db, reporter));
    });
  }

  /**
   * Removes the bookkeeping row of an applied migration whose file is gone, after a backup; the schema is left as
   * it is. `confirm` sees the plan before anything changes.
   */
  async forget(nameOrId: string, options: { confirm?: (plan: ForgetPlan) => Promise<boolean> } = {}): Promise<ForgetReport> {
    const files = this.files();
    const reporter = createReporter(this.#options.onLine);
    return this.#locked(reporter, false, async (db) => {
      const plan = planForget({ files, applied: await readApplied(db, this.#columns(db)) }, { target: nameOrId, backup: this.#options.backup !== false });
      if (options.confirm && !(await options.confirm(plan))) {
        reporter.line('Cancelled; nothing was changed.');
        return { ok: false, cancelled: true, id: plan.id, name: plan.name, backupPath: null, lines: reporter.lines };
      }
      const run = this.#run(db, reporter);
      const backupPath = plan.backupFirst ? await backUp(run, 'forget') : null;
      await run.adapter.writeTransaction(db, (trx) => forgetApplied(trx, plan.id));
      reporter.line(`✓ ${plan.name} forgotten: its bookkeeping row is removed; the schema is unchanged`);
      return { ok: true, id: plan.id, name: plan.name, backupPath, lines: reporter.lines };
    });
  }

  /** Compares the live schema with what every applied migration expects. */
  async verify(): Promise<VerifyReport> {
    const columns = this.#columns(this.#open.db);
    const report = await verifySchema(this.files(), await readApplied(this.#open.db, columns), columns);
    return withPlaintextSecrets(report, await usersWithPlaintextSecrets(this.#open.db, columns));
  }

  #now(): Date {
    return (this.#options.now ?? (() => new Date()))();
  }

  #columns(db: Kysely<any>): ColumnReader {
    return (table) => this.#open.adapter.columnsOf(db, table);
  }

  /** Runs `fn` holding the one-runner-at-a-time lock, reporting a wait and a recovered stale lock. */
  #locked<T>(reporter: Reporter, changesNothing: boolean, fn: (db: Kysely<any>) => Promise<T>): Promise<T> {
    const options = {
      changesNothing,
      ...(this.#options.lockTimeoutMs !== undefined ? { timeoutMs: this.#options.lockTimeoutMs } : {}),
      onWait: (holder: string) => reporter.line(`Waiting for another migration runner (${holder}) to finish…`),
    };
    return this.#open.adapter.withMigrationLock(this.#open.db, options, async (lock) => {
      if (lock.recoveredStale) reporter.line(`! recovered a migration lock left by a runner that died (${lock.recoveredStale})`);
      return fn(lock.db);
    });
  }

  /**
   * A dry run's PlanRun: encrypting is only pretended, so the key is never loaded and no key file is created (a dry
   * run writes nothing), and the preview shows a placeholder, never a real envelope.
   */
  #dryRun(db: Kysely<any>, reporter: Reporter): PlanRun {
    const run = this.#run(db, reporter);
    return run.encryptSecret ? { ...run, encryptSecret: () => DRY_RUN_ENVELOPE } : run;
  }

  #run(db: Kysely<any>, reporter: Reporter): PlanRun {
    const backup = this.#options.backup || { keep: 10 };
    return {
      db,
      adapter: this.#open.adapter,
      reporter,
      now: this.#options.now ?? (() => new Date()),
      backup,
      ...(this.#options.encryptSecret ? { encryptSecret: this.#options.encryptSecret } : {}),
      ...(this.#options.decryptSecret ? { decryptSecret: this.#options.decryptSecret } : {}),
      ...(this.#options.onProgress ? { progress: this.#options.onProgress } : {}),
      ...(this.#options.sweepBatchRows ? { sweepBatchRows: this.#options.sweepBatchRows } : {}),
    };
  }
}
