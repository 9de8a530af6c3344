import { CaptureSqlPlugin } from './capture-sql-plugin.ts';
import { reportPlanHead } from './apply-plan.ts';
import { loadMigration } from './load-migration.ts';
import type { MigrationReport, MigrationResult, RollbackReport } from './migration-report.ts';
import type { MigratePlan, RollbackPlan } from './plan.ts';
import { inRolledBackTransaction, migrationContext, schemaAccess, type PlanRun } from './plan-run.ts';
import { createReporter } from './reporter.ts';
import { upOrAdopt } from './up-or-adopt.ts';
import { SWEEP_BATCH_ROWS, usersWithPlaintextSecrets } from './secret-sweep.ts';

/**
 * Runs a migrate plan's steps in ONE transaction that is always rolled back, reporting the SQL each would
 * execute (schema reads are not captured). SQLite table rebuilds are previewed with foreign keys on.
 */
export async function dryRunPlan(plan: MigratePlan, run: PlanRun): Promise<MigrationReport> {
  const results: MigrationResult[] = [];
  const pending = reportPlanHead(plan, run);
  await previewSweep(run);
  if (pending) {
    await inRolledBackTransaction(run, async (trx) => {
      for (const step of plan.steps) {
        const { file } = step;
        const own = createReporter(undefined, run.reporter);
        own.line(`-- migration: ${file.name} (${file.id})`);
        const statements: string[] = [];
        try {
          const mod = await loadMigration(file);
          const capturing = trx.withPlugin(new CaptureSqlPlugin(trx, statements));
          const adopted = await upOrAdopt(capturing, schemaAccess(run, trx), mod, migrationContext(run, trx, own));
          for (const s of statements) own.line(s);
          results.push({ id: file.id, name: file.name, status: adopted ? 'adopted' : 'applied', lines: own.lines, sql: statements, executionMs: 0 });
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          own.line(`✗ ${file.name} would fail: ${message}`);
          results.push({ id: file.id, name: file.name, status: 'failed', lines: own.lines, error: message, executionMs: 0 });
          break;
        }
      }
    });
    run.reporter.line('Dry run: nothing was changed.');
  }
  return { ok: results.every((r) => r.status !== 'failed'), dryRun: true, found: plan.found, backupPath: null, results, lines: run.reporter.lines };
}

/** The secret sweep's part of a dry run: how many plain-text secrets it would encrypt (it runs before the migrations). */
async function previewSweep(run: PlanRun): Promise<void> {
  const users = await usersWithPlaintextSecrets(run.db, (table) => run.adapter.columnsOf(run.db, table));
  if (users.length > 0) run.reporter.line(`-- secret sweep: would encrypt ${users.length} plain-text TOTP secret(s), in batches of ${run.sweepBatchRows ?? SWEEP_BATCH_ROWS} rows`);
}

/** Runs a rollback plan's down() in a transaction that is always rolled back, reporting the SQL it would execute. */
export async function dryRunRollback(plan: RollbackPlan, run: PlanRun): Promise<RollbackReport> {
  const { file } = plan;
  const statements: string[] = [];
  run.reporter.line(`-- rollback: ${file.name} (${file.id})`);
  const mod = await loadMigration(file);
  await inRolledBackTransaction(run, async (trx) => {
    await mod.down(trx.withPlugin(new CaptureSqlPlugin(trx, statements)), migrationContext(run, trx, run.reporter));
  });
  for (const s of statements) run.reporter.line(s);
  run.reporter.line('Dry run: nothing was changed.');
  return { ok: true, id: file.id, name: file.name, backupPath: null, lines: run.reporter.lines };
}
