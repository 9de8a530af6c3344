import { resolve } from 'node:path';
import type { CliCommand } from '../cli-command.ts';
import { runnerFor } from './runner-for.ts';

/** `crew db verify`: the live schema against what every applied migration expects; exit 1 on drift. */
export const dbVerifyCommand: CliCommand = {
  name: 'db verify',
  description: 'check the live schema against what the applied migrations expect (exit 1 on drift)',
  options: [['--json', 'machine-readable output']],
  async run(ctx, _args, opts) {
    return ctx.withDatabase(
      async (open, config) => {
        const report = await runnerFor(ctx, open, config, opts).verify();
        const groups = `${report.appliedBySource.crew} built in (crew), ${report.appliedBySource.app} yours`;
        if (report.ok) ctx.out.line(`✓ Schema matches all ${report.applied} applied migration(s): ${groups}`);
        for (const p of report.problems) ctx.out.line(`✗ ${p.migration}: ${p.problem}`);
        if (report.pending.length > 0) ctx.out.line(`○ pending: ${report.pending.join(', ')}`);
        ctx.out.result(report);
        return report.ok ? 0 : 1;
      },
      { readOnly: true },
    );
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
    return ctx.withDatabase(
      async (open, config) => {
        // A manual backup is named `…-manual-…`, so the automatic rotation never prunes it.
        const where = typeof opts.out === 'string' ? { out: resolve(opts.out) } : { manual: true };
        const path = await open.adapter.backup({ keep: config.backupsToKeep, ...where });
        ctx.out.line(`✓ Backup written to ${path}`);
        ctx.out.result({ backupPath: path });
        return 0;
      },
      { readOnly: true },
    );
  },
};
