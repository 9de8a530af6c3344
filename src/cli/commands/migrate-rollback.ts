import { MigrationError } from '../../migrate/migration-report.ts';
import type { RollbackPlan } from '../../migrate/plan.ts';
import type { CliContext } from '../cli-command.ts';
import { UsageError } from '../cli-command.ts';
import { runnerFor } from './runner-for.ts';

/** What a rollback's down() removes, in words, from what the migration declared. */
function describeUndo(plan: RollbackPlan): string {
  const { tables, columns } = plan.undoes;
  const parts = [
    ...(tables.length > 0 ? [`table(s) ${tables.join(', ')} are dropped and every row in them is DELETED`] : []),
    ...(columns.length > 0 ? [`column(s) ${columns.join(', ')} are dropped with their data`] : []),
  ];
  return parts.length > 0 ? `${parts.join('; ')}.` : 'it created no table or column, so only the changes its down() undoes are affected (see the migration file).';
}

/**
 * `crew migrate NAME --rollback`: the runner first checks that NAME is applied and that nothing depends on it;
 * then this warns with what will be dropped, asks (or needs --yes without a TTY), backs up, and undoes NAME.
 */
export async function rollbackMigration(ctx: CliContext, name: string | undefined, opts: Record<string, unknown>): Promise<number> {
  if (!name) throw new UsageError('--rollback needs a migration name, e.g. `crew migrate 2fa --rollback`');
  return ctx.withDatabase(async (open, config) => {
    const runner = runnerFor(ctx, open, config, opts);
    if (opts.dryRun) {
      ctx.out.result(await runner.rollback(name, { dryRun: true }));
      return 0;
    }
    const report = await runner.rollback(name, {
      force: Boolean(opts.force),
      confirm: async (plan) => {
        ctx.out.line(`WARNING: rolling back ${plan.file.name} runs its down() step: ${describeUndo(plan)}`);
        if (plan.backupFirst) ctx.out.line('A backup of the database is written first.');
        if (opts.yes) return true;
        if (!ctx.interactive) {
          throw new MigrationError('confirmation_required', `refusing to roll back ${plan.file.name} without confirmation: stdin is not a terminal; pass --yes to confirm`, 1);
        }
        return ctx.confirm(`Roll back ${plan.file.name}? Type "yes" to continue: `);
      },
    });
    ctx.out.result(report);
    // Declining is a choice, not a failure.
    return report.ok || report.cancelled ? 0 : 1;
  }, { dryRun: Boolean(opts.dryRun) });
}
