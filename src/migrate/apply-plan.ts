import { recordApplied, updateChecksum } from './bookkeeping.ts';
import { loadMigration } from './load-migration.ts';
import type { MigrationFile } from './migration.ts';
import type { MigrationReport, MigrationResult } from './migration-report.ts';
import type { MigratePlan, MigrationStep } from './plan.ts';
import { backUp, migrationContext, schemaAccess, type PlanRun } from './plan-run.ts';
import { createReporter } from './reporter.ts';
import { sweepPlaintextSecrets } from './secret-sweep.ts';
import { upOrAdopt } from './up-or-adopt.ts';

/** Reports what comes before the steps of a migrate plan (shared by apply and dry run); returns false when there is nothing to do. */
export function reportPlanHead(plan: MigratePlan, run: PlanRun): boolean {
  for (const c of plan.acceptedChanges) run.reporter.line(`! ${c.name} changed since it was applied; accepted because of --allow-changed`);
  run.reporter.line(`Found ${plan.found} migration(s)`);
  for (const name of plan.missingFiles) run.reporter.line(`! ${name} is applied, but its file is missing (is this code older than the database?)`);
  if (plan.nothingToDo) run.reporter.line(plan.nothingToDo);
  return plan.nothingToDo === null;
}

/**
 * Executes a migrate plan: accepted checksums are stored, a backup is written if planned, then each step
 * runs in its own transaction with its bookkeeping row; after a failed step the rest are not run.
 */
export async function applyPlan(plan: MigratePlan, run: PlanRun): Promise<MigrationReport> {
  const sweep = { encrypted: 0, failed: false };
  const report = (results: MigrationResult[], backupPath: string | null): MigrationReport => ({
    ok: !sweep.failed && results.every((r) => r.status !== 'failed'),
    dryRun: false,
    found: plan.found,
    backupPath,
    results,
    secretsEncrypted: sweep.encrypted,
    lines: run.reporter.lines,
  });
  const sweepSecrets = async () => {
    if (sweep.failed) return;
    try {
      sweep.encrypted += (await sweepPlaintextSecrets(run)).encrypted;
    } catch (error) {
      sweep.failed = true;
      run.reporter.line(`✗ encrypting plain-text TOTP secrets failed: ${error instanceof Error ? error.message : String(error)} (batches already done stay encrypted; run \`crew migrate\` again)`);
    }
  };
  for (const c of plan.acceptedChanges) await updateChecksum(run.db, c.id, c.checksum);
  if (!reportPlanHead(plan, run)) {
    // Nothing to migrate, but the old app may have written plain-text secrets since the last run.
    await sweepSecrets();
    return report([], null);
  }
  // The backup comes first: it is the way back to the old app, which needs its secrets as they were.
  const backupPath = plan.backupFirst ? await backUp(run, 'migrate') : null;
  // Before the migrations, so the frozen 0006 (one UPDATE per row, no progress) finds nothing left to do.
  await sweepSecrets();
  const results: MigrationResult[] = [];
  for (const step of plan.steps) {
    if (results.some((r) => r.status === 'failed')) results.push({ id: step.file.id, name: step.file.name, status: 'not-run', lines: [], executionMs: 0 });
    else results.push(await applyStep(step, run));
  }
  // And after: a migration may have brought secrets in (adopting the Flask tables), or made two_factor_auth.
  if (results.every((r) => r.status !== 'failed')) await sweepSecrets();
  return report(results, backupPath);
}

function applyStep(step: MigrationStep, run: PlanRun): Promise<MigrationResult> {
  switch (step.kind) {
    case 'apply':
      return applyFile(step.file, run);
  }
}

/** Runs one migration (up, or adoption) and records it, in ONE transaction: both happen or neither. */
async function applyFile(file: MigrationFile, run: PlanRun): Promise<MigrationResult> {
  const reporter = createReporter(undefined, run.reporter);
  reporter.line(`Running migration: ${file.name}`);
  const started = performance.now();
  try {
    const mod = await loadMigration(file);
    let adopted = false;
    await run.adapter.writeTransaction(
      run.db,
      async (trx) => {
        adopted = await upOrAdopt(trx, schemaAccess(run, trx), mod, migrationContext(run, trx, reporter));
        await recordApplied(trx, { id: file.id, name: file.name, checksum: file.checksum, appliedAt: run.now().toISOString(), adopted, executionMs: performance.now() - started, source: file.source });
      },
      { foreignKeysOff: mod.rebuildsTables === true },
    );
    return { id: file.id, name: file.name, status: adopted ? 'adopted' : 'applied', lines: reporter.lines, executionMs: performance.now() - started };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    reporter.line(`✗ ${file.name} failed: ${message}`);
    reporter.line(`  (rolled back: the database is as it was before ${file.name})`);
    return { id: file.id, name: file.name, status: 'failed', lines: reporter.lines, error: message, executionMs: performance.now() - started };
  }
}
