import type { CliContext } from '../cli-command.ts';
import { UsageError } from '../cli-command.ts';
import { runnerFor } from './runner-for.ts';

/** `crew migrate NAME --rollback`: warns, asks (or needs --yes without a TTY), backs up, then undoes NAME. */
export async function rollbackMigration(ctx: CliContext, name: string | undefined, opts: Record<string, unknown>): Promise<number> {
  if (!name) throw new UsageError('--rollback needs a migration name, e.g. `crew migrate 2fa --rollback`');
  return ctx.withDatabase(async (open, config) => {
    const runner = runnerFor(ctx, open, config, opts);
    const file = runner.find(runner.files(), name);
    if (opts.dryRun) {
      const preview = await runner.rollback(file.name, { dryRun: true });
      ctx.out.result(preview);
      return 0;
    }
    if (!opts.yes && !ctx.interactive) {
      ctx.out.error(`refusing to roll back ${file.name} without confirmation: stdin is not a terminal; pass --yes to confirm`, 'confirmation_required');
      return 1;
    }
    // The runner checks that the migration is applied and has no dependents before calling confirm().
    const report = await runner.rollback(file.name, {
      confirm: async () => {
        ctx.out.line(`WARNING: rolling back ${file.name} runs its down() step: the tables and columns it created are dropped and their data is DELETED.`);
        if (opts.backup !== false) ctx.out.line(`A backup of the database is written first${open.dialect === 'postgres' ? ' (pg_dump)' : ''}.`);
        return Boolean(opts.yes) || ctx.confirm(`Roll back ${file.name}? Type "yes" to continue: `);
      },
    });
    if (report.backupPath) ctx.out.line(`Backup: ${report.backupPath}`);
    ctx.out.result(report);
    return report.ok ? 0 : 1;
  });
}
