import { formatStatusList, formatSummary } from '../../migrate/migration-report.ts';
import type { CliCommand, CliContext } from '../cli-command.ts';
import { createMigration } from './migrate-create.ts';
import { rollbackMigration } from './migrate-rollback.ts';
import { runnerFor } from './runner-for.ts';

/** `crew migrate [NAME] [--list|--rollback|--dry-run]` and `crew migrate create NAME`. */
export const migrateCommand: CliCommand = {
  name: 'migrate',
  description: 'apply pending migrations (all, or one by name); --list, --rollback, --dry-run; `migrate create NAME` scaffolds one',
  args: ['[name]', '[newName]'],
  options: [
    ['--list', 'show every migration and whether it is applied'],
    ['--rollback', 'undo the named migration (backs up first; data in its tables is deleted)'],
    ['--dry-run', 'print the SQL that would run, change nothing'],
    ['--no-backup', 'skip the automatic SQLite backup'],
    ['--allow-changed', 'accept applied migrations whose file has changed'],
    ['-y, --yes', 'do not ask for confirmation'],
    ['--json', 'machine-readable output'],
  ],
  async run(ctx, [name, newName], opts) {
    if (name === 'create') return createMigration(ctx, newName);
    if (newName !== undefined) throw new (await import('../cli-command.ts')).UsageError(`unexpected argument "${newName}"`);
    if (opts.rollback) return rollbackMigration(ctx, name, opts);
    return ctx.withDatabase(async (open, config) => {
      const runner = runnerFor(ctx, open, config, opts);
      if (opts.list) return list(ctx, runner);
      const report = await runner.migrate({ target: name, dryRun: Boolean(opts.dryRun) });
      for (const line of formatSummary(report)) ctx.out.line(line);
      ctx.out.result(report);
      return report.ok ? 0 : 1;
    });
  },
};

async function list(ctx: CliContext, runner: ReturnType<typeof runnerFor>): Promise<number> {
  const rows = await runner.status();
  for (const line of formatStatusList(rows)) ctx.out.line(line);
  ctx.out.result({ migrations: rows });
  return 0;
}
