import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { backupSqlite } from '../../migrate/sqlite-backup.ts';
import type { CliCommand } from '../cli-command.ts';
import { runnerFor } from './runner-for.ts';

/** `crew db verify`: the live schema against what every applied migration expects; exit 1 on drift. */
export const dbVerifyCommand: CliCommand = {
  name: 'db verify',
  description: 'check the live schema against what the applied migrations expect (exit 1 on drift)',
  options: [['--json', 'machine-readable output']],
  async run(ctx, _args, opts) {
    return ctx.withDatabase(async (open, config) => {
      const report = await runnerFor(ctx, open, config, opts).verify();
      if (report.ok) ctx.out.line(`✓ Schema matches all ${report.applied} applied migration(s)`);
      for (const p of report.problems) ctx.out.line(`✗ ${p.migration}: ${p.problem}`);
      if (report.pending.length > 0) ctx.out.line(`○ pending: ${report.pending.join(', ')}`);
      ctx.out.result(report);
      return report.ok ? 0 : 1;
    });
  },
};

/** `crew db backup [--out FILE]`: SQLite online backup (or pg_dump for PostgreSQL). */
export const dbBackupCommand: CliCommand = {
  name: 'db backup',
  description: 'write a backup now (SQLite online backup API; pg_dump for PostgreSQL)',
  options: [
    ['--out <file>', 'where to write it (default: backups/ beside the database)'],
    ['--json', 'machine-readable output'],
  ],
  async run(ctx, _args, opts) {
    return ctx.withDatabase(async (open, config) => {
      const out = typeof opts.out === 'string' ? resolve(opts.out) : undefined;
      let path: string;
      if (open.dialect === 'sqlite') {
        path = await backupSqlite(open.sqlite!, open.sqlitePath!, { keep: config.backupsToKeep, out });
      } else {
        path = out ?? join(resolve('backups'), `postgres-${new Date().toISOString().replace(/[-:.]/g, '')}.sql`);
        mkdirSync(dirname(path), { recursive: true });
        const url = config.database.kind === 'postgres' ? config.database.url : '';
        const dump = spawnSync('pg_dump', ['--no-owner', '--file', path, url], { encoding: 'utf8' });
        if (dump.error || dump.status !== 0) {
          ctx.out.error(`pg_dump failed: ${dump.error?.message ?? dump.stderr.trim()}`, 'backup_failed');
          return 1;
        }
      }
      ctx.out.line(`✓ Backup written to ${path}`);
      ctx.out.result({ backupPath: path });
      return 0;
    });
  },
};
