import { forgetApplied } from './bookkeeping.ts';
import { loadMigration } from './load-migration.ts';
import type { RollbackReport } from './migration-report.ts';
import type { RollbackPlan } from './plan.ts';
import { backUp, migrationContext, type PlanRun } from './plan-run.ts';

/** Executes a rollback plan: a backup first if planned, then down() and the removal of its bookkeeping row in ONE transaction. */
export async function applyRollback(plan: RollbackPlan, run: PlanRun): Promise<RollbackReport> {
  const { file } = plan;
  const mod = await loadMigration(file);
  const backupPath = plan.backupFirst ? await backUp(run, 'rollback') : null;
  run.reporter.line(`Rolling back migration: ${file.name}`);
  await run.adapter.writeTransaction(
    run.db,
    async (trx) => {
      await mod.down(trx, migrationContext(run, trx, run.reporter));
      await forgetApplied(trx, file.id);
    },
    { foreignKeysOff: mod.rebuildsTables === true },
  );
  run.reporter.line(`✓ ${file.name} rolled back`);
  return { ok: true, id: file.id, name: file.name, backupPath, lines: run.reporter.lines };
}
