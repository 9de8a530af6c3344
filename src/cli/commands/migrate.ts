import { existsSync } from 'node:fs';
import { formatStatusList, formatSummary } from '../../migrate/migration-report.ts';
import { UsageError, type CliCommand, type CliContext } from '../cli-command.ts';
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
    checkCombination(name, newName, opts);
    if (name === 'create') return createMigration(ctx, newName);
    if (opts.rollback) return rollbackMigration(ctx, name, opts);
    if (opts.list) return ctx.withDatabase(async (open, config) => list(ctx, runnerFor(ctx, open, config, opts)), { readOnly: true });
    return ctx.withDatabase(async (open, config) => {
      const runner = runnerFor(ctx, open, config, opts);
      if (opts.dryRun && open.adapter.databaseFile && !existsSync(open.adapter.databaseFile)) {
        ctx.out.line(`(no database at ${open.adapter.databaseFile} yet: this shows what creating it would do; no file is created)`);
      }
      const report = await runner.migrate({ target: name, dryRun: Boolean(opts.dryRun) });
      for (const line of formatSummary(report)) ctx.out.line(line);
      ctx.out.result(report);
      return report.ok ? 0 : 1;
    }, { dryRun: Boolean(opts.dryRun) });
  },
};

/** Refuses flag combinations that would silently ignore one of them (exit 2). */
function checkCombination(name: string | undefined, newName: string | undefined, opts: Record<string, unknown>): void {
  const set = (['list', 'rollback', 'dryRun', 'allowChanged'] as const).filter((k) => opts[k]);
  const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  if (name === 'create') {
    if (set.length > 0) throw new UsageError(`\`migrate create\` takes no ${set.map(flag).join(', ')}`);
    return;
  }
  if (newName !== undefined) throw new UsageError(`unexpected argument "${newName}" (did you mean \`crew migrate create ${newName}\`?)`);
  if (opts.list && (name !== undefined || set.length > 1)) {
    throw new UsageError(`--list shows every migration and takes no ${name !== undefined ? `migration name ("${name}")` : set.filter((k) => k !== 'list').map(flag).join(', ')}`);
  }
}

async function list(ctx: CliContext, runner: ReturnType<typeof runnerFor>): Promise<number> {
  const rows = await runner.status();
  for (const line of formatStatusList(rows)) ctx.out.line(line);
  ctx.out.result({ migrations: rows });
  return 0;
}
