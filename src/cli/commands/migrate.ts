import { existsSync } from 'node:fs';
import { openReader } from '../../db/open-database.ts';
import { readAppliedWith } from '../../migrate/bookkeeping-read.ts';
import { appMigrationsDirFor, discoverAll } from '../../migrate/discover.ts';
import { formatStatusList, formatSummary } from '../../migrate/migration-report.ts';
import { migrationStatus } from '../../migrate/plan.ts';
import { UsageError, type CliCommand, type CliContext } from '../cli-command.ts';

// `--list` is the command people run to look, and its start-up time is measured against a bare `node` (issue 9):
// it loads only discovery, the bookkeeping read, the planner's status and the report. Everything else (the runner,
// Kysely, the key ring, the progress bar) is imported by the forms that change something, when they run.

/** `crew migrate [NAME] [--list|--rollback|--dry-run]`, `crew migrate create NAME [--sql]` and `crew migrate forget NAME`. */
export const migrateCommand: CliCommand = {
  name: 'migrate',
  description: 'apply pending migrations, crew\'s then yours (./migrations); --list, --rollback, --dry-run; `migrate create NAME [--sql]`; `migrate forget NAME`',
  args: ['[name]', '[newName]'],
  options: [
    ['--list', 'show every migration and whether it is applied'],
    ['--rollback', 'undo the named migration (backs up first; data in its tables is deleted)'],
    ['--force', 'roll back even while crew servers are running on this database'],
    ['--sql', 'with `migrate create`: write a plain-SQL migration (-- migrate:up / -- migrate:down)'],
    ['--dry-run', 'print the SQL that would run, change nothing'],
    ['--no-backup', 'skip the automatic SQLite backup'],
    ['--allow-changed', 'accept applied migrations whose file has changed'],
    ['-y, --yes', 'do not ask for confirmation'],
    ['--json', 'machine-readable output'],
  ],
  async run(ctx, [name, newName], opts) {
    checkCombination(name, newName, opts);
    if (name === 'create') return (await import('./migrate-create.ts')).createMigration(ctx, newName, opts);
    if (name === 'forget') return (await import('./migrate-forget.ts')).forgetMigration(ctx, newName, opts);
    if (opts.rollback) return (await import('./migrate-rollback.ts')).rollbackMigration(ctx, name, opts);
    if (opts.list) return list(ctx);
    const { runnerFor } = await import('./runner-for.ts');
    return ctx.withDatabase(async (open, config) => {
      // A migration may encrypt (0006): a key file missing beside encrypted secrets stops here, never replaced by a new key.
      await (await import('../../deps.ts')).loadKeyRing(config, open, { create: false });
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
  const set = (['list', 'rollback', 'dryRun', 'allowChanged', 'force', 'sql'] as const).filter((k) => opts[k]);
  const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  if (name === 'create' || name === 'forget') {
    const wrong = set.filter((k) => !(name === 'create' && k === 'sql'));
    if (wrong.length > 0) throw new UsageError(`\`migrate ${name}\` takes no ${wrong.map(flag).join(', ')}`);
    return;
  }
  if (opts.sql) throw new UsageError('--sql goes with `crew migrate create NAME --sql`');
  if (opts.force && !opts.rollback) throw new UsageError('--force goes with --rollback (it overrides the running-server check)');
  if (newName !== undefined) throw new UsageError(`unexpected argument "${newName}" (did you mean \`crew migrate create ${newName}\`?)`);
  if (opts.list && (name !== undefined || set.length > 1)) {
    throw new UsageError(`--list shows every migration and takes no ${name !== undefined ? `migration name ("${name}")` : set.filter((k) => k !== 'list').map(flag).join(', ')}`);
  }
}

/**
 * `crew migrate --list`: what MigrationRunner.status() reports (every file with its state, then applied rows whose file
 * is gone), read through a read-only DatabaseReader, which never creates a database or a key file.
 */
async function list(ctx: CliContext): Promise<number> {
  const config = ctx.config();
  const app = appMigrationsDirFor(config);
  const reader = await openReader(config.database);
  try {
    const files = discoverAll({ appDir: app.dir, appDirOptional: app.optional });
    const rows = migrationStatus(files, await readAppliedWith((query) => reader.selectAll(query), (table) => reader.columnsOf(table)));
    for (const line of formatStatusList(rows, app.dir)) ctx.out.line(line);
    ctx.out.result({ migrations: rows, appMigrationsDir: app.dir });
    return 0;
  } finally {
    await reader.close();
  }
}
