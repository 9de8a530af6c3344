import { MigrationError } from '../../migrate/migration-report.ts';
import type { CliContext } from '../cli-command.ts';
import { UsageError } from '../cli-command.ts';
import { runnerFor } from './runner-for.ts';

/**
 * `crew migrate forget NAME`: removes the bookkeeping row of an applied migration whose file was deleted, after
 * confirmation (or --yes without a TTY) and a backup. The schema is not touched: whatever that migration made stays.
 */
export async function forgetMigration(ctx: CliContext, name: string | undefined, opts: Record<string, unknown>): Promise<number> {
  if (!name) throw new UsageError('`crew migrate forget` needs the name of an applied migration whose file is missing, e.g. `crew migrate forget old_feature`');
  return ctx.withDatabase(async (open, config) => {
    const report = await runnerFor(ctx, open, config, opts).forget(name, {
      confirm: async (plan) => {
        ctx.out.line(`WARNING: forgetting ${plan.name} removes its row from crew_migrations; whatever it changed in the schema stays, and crew no longer knows about it.`);
        if (plan.backupFirst) ctx.out.line('A backup of the database is written first.');
        if (opts.yes) return true;
        if (!ctx.interactive) throw new MigrationError('confirmation_required', `refusing to forget ${plan.name} without confirmation: stdin is not a terminal; pass --yes to confirm`, 1);
        return ctx.confirm(`Forget ${plan.name}? Type "yes" to continue: `);
      },
    });
    ctx.out.result(report);
    return report.ok || report.cancelled ? 0 : 1;
  });
}
