import type { Kysely } from 'kysely';
import { CaptureSqlPlugin } from './capture-sql-plugin.ts';
import { upOrAdopt } from './up-or-adopt.ts';
import { writeTransaction } from './write-transaction.ts';
import type { OpenDatabase } from '../db/open-database.ts';
import { readApplied, ensureBookkeeping, recordApplied, forgetApplied, updateChecksum, type AppliedMigration } from './bookkeeping.ts';
import { discoverMigrations } from './discover.ts';
import { describeDrift, findDrift } from './expectations.ts';
import { columnsOf, listTables } from './introspect.ts';
import { loadMigration } from './load-migration.ts';
import { withMigrationLock } from './migration-lock.ts';
import type { MigrationContext, MigrationFile, MigrationModule } from './migration.ts';
import { backupSqlite } from './sqlite-backup.ts';
import { backupPostgres } from './postgres-backup.ts';
import { MigrationError, type MigrationResult, type MigrationReport, type MigrationStatus, type RollbackReport, type VerifyReport } from './migration-report.ts';

/** Options shared by every runner operation. */
export interface RunnerOptions {
  /** Folder of NNNN_name.ts files; default src/migrations. */
  migrationsDir?: string;
  /** Keep this many automatic SQLite backups; `false` skips the backup (`--no-backup`). */
  backup?: { keep: number } | false;
  /** Accept applied migrations whose file changed, and store the new checksums. */
  allowChanged?: boolean;
  lockTimeoutMs?: number;
  /** Receives report lines as they happen (the CLI prints them). */
  onLine?: (line: string) => void;
  now?: () => Date;
  /** Handed to migrations that encrypt data (the legacy plain TOTP secrets). */
  encryptSecret?: (plain: string) => string;
}

class DryRunRollback extends Error {}

/** Runs `fn` without the runner lock (SQLite dry runs). */
const unlocked: typeof withMigrationLock = (open, _options, fn) => fn({ db: open.db, recoveredStale: null, release: async () => {} });

/**
 * Discovers, plans and applies migrations: each one and its bookkeeping row in ONE transaction,
 * one runner at a time, with an online backup of a SQLite database first.
 */
export class MigrationRunner {
  readonly #open: OpenDatabase;
  readonly #options: RunnerOptions;

  constructor(open: OpenDatabase, options: RunnerOptions = {}) {
    this.#open = open;
    this.#options = options;
  }

  /** The migration files, in order. */
  files(): MigrationFile[] {
    return discoverMigrations(this.#options.migrationsDir);
  }

  /** Every line of the current operation, for the report. */
  #all: string[] = [];

  #line(line: string, into: string[]): void {
    into.push(line);
    if (into !== this.#all) this.#all.push(line);
    this.#options.onLine?.(line);
  }

  /** Finds a migration by name (`2fa`) or id (`0002_2fa`); unknown names are bad usage (exit 2). */
  find(files: MigrationFile[], nameOrId: string): MigrationFile {
    const file = files.find((f) => f.name === nameOrId || f.id === nameOrId);
    if (!file) {
      throw new MigrationError('unknown_migration', `unknown migration "${nameOrId}". Known migrations: ${files.map((f) => f.name).join(', ') || '(none)'}`, 2);
    }
    return file;
  }

  /** Every migration file with whether it is applied, plus applied rows whose file is gone. */
  async status(): Promise<MigrationStatus[]> {
    const files = this.files();
    const applied = await readApplied(this.#open.db, this.#open.dialect);
    const byId = new Map(applied.map((a) => [a.id, a]));
    const rows: MigrationStatus[] = files.map((f) => {
      const a = byId.get(f.id);
      if (!a) return { id: f.id, name: f.name, state: 'pending', appliedAt: null, adopted: false };
      return { id: f.id, name: f.name, state: a.checksum === f.checksum ? 'applied' : 'changed', appliedAt: a.appliedAt, adopted: a.adopted };
    });
    for (const a of applied) {
      if (!files.some((f) => f.id === a.id)) rows.push({ id: a.id, name: a.name, state: 'missing-file', appliedAt: a.appliedAt, adopted: a.adopted });
    }
    return rows;
  }

  #context(db: Kysely<any>, lines: string[]): MigrationContext {
    return {
      dialect: this.#open.dialect,
      columnsOf: (table) => columnsOf(db, this.#open.dialect, table),
      report: (line) => this.#line(line, lines),
      ...(this.#options.encryptSecret ? { encryptSecret: this.#options.encryptSecret } : {}),
    };
  }

  /** Applies every pending migration, or just `target` (refused if earlier ones are pending). */
  async migrate(options: { target?: string; dryRun?: boolean } = {}): Promise<MigrationReport> {
    const files = this.files();
    const target = options.target ? this.find(files, options.target) : null;
    const dryRun = options.dryRun ?? false;
    // A SQLite dry run takes no runner lock (creating the lock table would be a change); its one
    // rolled-back transaction holds SQLite's own write lock while it runs.
    const lockFor = dryRun && this.#open.dialect === 'sqlite' ? unlocked : withMigrationLock;
    return lockFor(this.#open, { timeoutMs: this.#options.lockTimeoutMs }, async (lock) => {
      const db = lock.db;
      const lines: string[] = (this.#all = []);
      if (lock.recoveredStale) this.#line(`! recovered a migration lock left by a runner that died (${lock.recoveredStale})`, lines);
      if (!dryRun) await ensureBookkeeping(db);
      const applied = await readApplied(db, this.#open.dialect);
      this.#checkChecksums(files, applied, dryRun, lines);
      for (const u of this.#pendingChecksumUpdates.splice(0)) await updateChecksum(db, u.id, u.checksum);
      const appliedIds = new Set(applied.map((a) => a.id));
      let pending = files.filter((f) => !appliedIds.has(f.id));
      this.#line(`Found ${files.length} migration(s)`, lines);
      if (target) {
        if (appliedIds.has(target.id)) {
          this.#line(`✓ ${target.name} is already applied`, lines);
          return { ok: true, dryRun, found: files.length, backupPath: null, results: [], lines };
        }
        const earlier = pending.filter((f) => f.order < target.order);
        if (earlier.length > 0) {
          throw new MigrationError('earlier_pending', `cannot apply ${target.name} alone: earlier migration(s) ${earlier.map((f) => f.name).join(', ')} are not applied yet. Run \`crew migrate\` to apply them in order.`, 1);
        }
        pending = [target];
      }
      if (pending.length === 0) {
        this.#line(`All ${files.length} migration(s) are already applied; nothing to do.`, lines);
        return { ok: true, dryRun, found: files.length, backupPath: null, results: [], lines };
      }
      const backupPath = dryRun ? null : await this.#backupFirst(lines, 'migrate');
      const results = dryRun ? await this.#dryRun(db, pending, lines) : await this.#applyAll(db, pending, lines);
      return { ok: results.every((r) => r.status !== 'failed'), dryRun, found: files.length, backupPath, results, lines };
    });
  }

  #checkChecksums(files: MigrationFile[], applied: AppliedMigration[], dryRun: boolean, lines: string[]): void {
    const changed = applied.filter((a) => {
      const f = files.find((file) => file.id === a.id);
      return f !== undefined && f.checksum !== a.checksum;
    });
    if (changed.length === 0) return;
    if (!this.#options.allowChanged) {
      throw new MigrationError('checksum_mismatch', `applied migration(s) changed since they ran: ${changed.map((c) => c.name).join(', ')}. A released migration must not be edited; write a new one, or rerun with --allow-changed if the edit is harmless.`, 1);
    }
    for (const c of changed) this.#line(`! ${c.name} changed since it was applied; accepted because of --allow-changed`, lines);
    if (!dryRun) this.#pendingChecksumUpdates = changed.map((c) => ({ id: c.id, checksum: files.find((f) => f.id === c.id)!.checksum }));
  }
  #pendingChecksumUpdates: Array<{ id: string; checksum: string }> = [];

  /** SQLite: online backup before any change. PostgreSQL (transactional DDL): a pg_dump before a rollback only. */
  async #backupFirst(lines: string[], purpose: 'migrate' | 'rollback'): Promise<string | null> {
    if (this.#options.backup === false) return null;
    if (this.#open.dialect === 'postgres') {
      if (purpose !== 'rollback') return null;
      const dump = await backupPostgres(this.#open.postgresUrl!, { now: this.#options.now?.() });
      this.#line(`✓ Backup written to ${dump}`, lines);
      return dump;
    }
    const tables = await listTables(this.#open.db, 'sqlite');
    if (tables.every((t) => t.startsWith('crew_'))) return null; // a new database has nothing to lose
    const path = await backupSqlite(this.#open.sqlite!, this.#open.sqlitePath!, { keep: this.#options.backup?.keep ?? 10, now: this.#options.now?.() });
    this.#line(`✓ Backup written to ${path}`, lines);
    return path;
  }

  async #applyAll(db: Kysely<any>, pending: MigrationFile[], lines: string[]): Promise<MigrationResult[]> {
    const results: MigrationResult[] = [];
    let failed = false;
    for (const file of pending) {
      if (failed) {
        results.push({ id: file.id, name: file.name, status: 'not-run', lines: [], executionMs: 0 });
        continue;
      }
      const result = await this.#applyOne(db, file);
      results.push(result);
      failed = result.status === 'failed';
    }
    return results;
  }

  async #applyOne(db: Kysely<any>, file: MigrationFile): Promise<MigrationResult> {
    const lines: string[] = [];
    this.#line(`Running migration: ${file.name}`, lines);
    const started = performance.now();
    let adopted = false;
    let mod: MigrationModule | null = null;
    try {
      mod = await loadMigration(file);
      const m = mod;
      await this.#inTransaction(db, m.rebuildsTables === true, async (trx) => {
        adopted = await this.#upOrAdopt(trx, m, lines);
        await recordApplied(trx, { id: file.id, name: file.name, checksum: file.checksum, appliedAt: (this.#options.now?.() ?? new Date()).toISOString(), adopted, executionMs: performance.now() - started });
      });
      return { id: file.id, name: file.name, status: adopted ? 'adopted' : 'applied', lines, executionMs: performance.now() - started };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.#line(`✗ ${file.name} failed: ${message}`, lines);
      this.#line(`  (rolled back: the database is as it was before ${file.name})`, lines);
      return { id: file.id, name: file.name, status: 'failed', lines, error: message, executionMs: performance.now() - started };
    }
  }

  /** Runs `fn` in one transaction; SQLite table rebuilds get foreign keys off OUTSIDE it and a foreign_key_check before commit. */
  async #inTransaction(db: Kysely<any>, rebuildsTables: boolean, fn: (trx: Kysely<any>) => Promise<void>): Promise<void> {
    const raw = this.#open.dialect === 'sqlite' && rebuildsTables ? this.#open.sqlite! : null;
    // PRAGMA foreign_keys is a no-op inside a transaction, so it must be switched here (SQLite "12-step" ALTER procedure).
    raw?.pragma('foreign_keys = OFF');
    try {
      await writeTransaction(db, this.#open.dialect, async (trx) => {
        await fn(trx);
        if (raw) {
          const violations = raw.pragma('foreign_key_check') as Array<{ table: string; parent: string }>;
          if (violations.length > 0) {
            const sample = violations.slice(0, 5).map((v) => `${v.table} → ${v.parent}`).join(', ');
            throw new Error(`foreign_key_check found ${violations.length} violation(s) after the rebuild (${sample})`);
          }
        }
      });
    } finally {
      raw?.pragma('foreign_keys = ON');
    }
  }

  /** Runs `up`, or adopts the tables it would create; returns true when adopted. */
  #upOrAdopt(trx: Kysely<any>, mod: MigrationModule, lines: string[]): Promise<boolean> {
    return upOrAdopt(trx, this.#open.dialect, mod, this.#context(trx, lines));
  }

  async #dryRun(db: Kysely<any>, pending: MigrationFile[], lines: string[]): Promise<MigrationResult[]> {
    const results: MigrationResult[] = [];
    try {
      await writeTransaction(db, this.#open.dialect, async (trx) => {
        for (const file of pending) {
          const statements: string[] = [];
          const own: string[] = [];
          this.#line(`-- migration: ${file.name} (${file.id})`, own);
          const mod = await loadMigration(file);
          const capturing = trx.withPlugin(new CaptureSqlPlugin(trx, statements));
          try {
            const adopted = await this.#upOrAdopt(capturing, mod, own);
            for (const s of statements.filter((s) => !/pragma_table_info|information_schema/i.test(s))) this.#line(s, own);
            results.push({ id: file.id, name: file.name, status: adopted ? 'adopted' : 'applied', lines: own, sql: statements, executionMs: 0 });
          } catch (error) {
            const message = (error as Error).message;
            this.#line(`✗ ${file.name} would fail: ${message}`, own);
            results.push({ id: file.id, name: file.name, status: 'failed', lines: own, error: message, executionMs: 0 });
            break;
          }
        }
        throw new DryRunRollback();
      });
    } catch (error) {
      if (!(error instanceof DryRunRollback)) throw error;
    }
    this.#line('Dry run: nothing was changed.', lines);
    return results;
  }

  /** Undoes one applied migration after a backup; refused while later applied migrations depend on it. */
  async rollback(nameOrId: string, options: { confirm?: () => Promise<boolean>; dryRun?: boolean } = {}): Promise<RollbackReport> {
    const files = this.files();
    const file = this.find(files, nameOrId);
    return withMigrationLock(this.#open, { timeoutMs: this.#options.lockTimeoutMs }, async (lock) => {
      const lines: string[] = (this.#all = []);
      const applied = await readApplied(lock.db, this.#open.dialect);
      if (!applied.some((a) => a.id === file.id)) {
        throw new MigrationError('not_applied', `${file.name} is not applied, so there is nothing to roll back`, 1);
      }
      const mod = await loadMigration(file);
      const dependents = await this.#dependentsOf(file, mod, files, applied);
      if (dependents.length > 0) {
        throw new MigrationError('has_dependents', `cannot roll back ${file.name}: applied migration(s) ${dependents.join(', ')} depend on it; roll them back first (newest first)`, 1);
      }
      if (options.dryRun) return this.#dryRunRollback(lock.db, file, mod, lines);
      if (options.confirm && !(await options.confirm())) {
        this.#line('Cancelled; nothing was changed.', lines);
        return { ok: false, id: file.id, name: file.name, backupPath: null, lines };
      }
      const backupPath = await this.#backupFirst(lines, 'rollback');
      this.#line(`Rolling back migration: ${file.name}`, lines);
      await this.#inTransaction(lock.db, mod.rebuildsTables === true, async (trx) => {
        await mod.down(trx, this.#context(trx, lines));
        await forgetApplied(trx, file.id);
      });
      this.#line(`✓ ${file.name} rolled back`, lines);
      return { ok: true, id: file.id, name: file.name, backupPath, lines };
    });
  }

  /** Runs `down` in a transaction that is always rolled back, printing the SQL it would execute. */
  async #dryRunRollback(db: Kysely<any>, file: MigrationFile, mod: MigrationModule, lines: string[]): Promise<RollbackReport> {
    const statements: string[] = [];
    this.#line(`-- rollback: ${file.name} (${file.id})`, lines);
    try {
      await writeTransaction(db, this.#open.dialect, async (trx) => {
        const capturing = trx.withPlugin(new CaptureSqlPlugin(trx, statements));
        await mod.down(capturing, this.#context(capturing, lines));
        throw new DryRunRollback();
      });
    } catch (error) {
      if (!(error instanceof DryRunRollback)) throw error;
    }
    for (const s of statements.filter((s) => !/pragma_table_info|information_schema/i.test(s))) this.#line(s, lines);
    this.#line('Dry run: nothing was changed.', lines);
    return { ok: true, id: file.id, name: file.name, backupPath: null, lines };
  }

  async #dependentsOf(file: MigrationFile, mod: MigrationModule, files: MigrationFile[], applied: AppliedMigration[]): Promise<string[]> {
    const mine = new Set(mod.creates ?? []);
    const myColumns = (mod.creates ?? []).length === 0 ? mod.expects : {};
    const out: string[] = [];
    for (const later of files.filter((f) => f.order > file.order && applied.some((a) => a.id === f.id))) {
      const other = await loadMigration(later);
      const uses = Object.entries(other.expects).some(
        ([table, cols]) => mine.has(table) || Object.keys(cols).some((c) => myColumns[table]?.[c] !== undefined),
      );
      if (uses) out.push(later.name);
    }
    return out;
  }

  /** Compares the live schema with what every applied migration expects. */
  async verify(): Promise<VerifyReport> {
    const files = this.files();
    const applied = await readApplied(this.#open.db, this.#open.dialect);
    const problems: VerifyReport['problems'] = [];
    for (const a of applied) {
      const file = files.find((f) => f.id === a.id);
      if (!file) {
        problems.push({ migration: a.name, problem: 'applied, but its file is missing' });
        continue;
      }
      if (file.checksum !== a.checksum) problems.push({ migration: a.name, problem: 'file changed since it was applied' });
      const drift = await findDrift(this.#open.db, this.#open.dialect, (await loadMigration(file)).expects);
      for (const d of describeDrift(drift)) problems.push({ migration: a.name, problem: d });
    }
    const pending = files.filter((f) => !applied.some((a) => a.id === f.id)).map((f) => f.name);
    return { ok: problems.length === 0, applied: applied.length, pending, problems };
  }
}
