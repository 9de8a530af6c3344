import type { Config } from '../../config.ts';
import type { OpenDatabase } from '../../db/open-database.ts';
import type { MigrationRunner } from '../../migrate/migration-runner.ts';
import { runnerFromConfig } from '../../migrate/runner-from-config.ts';
import type { CliContext } from '../cli-command.ts';
import { progressBar } from '../progress-bar.ts';

/** The configured MigrationRunner with the command's flags (--no-backup, --allow-changed), printing to the command's output. */
export function runnerFor(ctx: CliContext, open: OpenDatabase, config: Config, opts: Record<string, unknown>): MigrationRunner {
  return runnerFromConfig(open, config, {
    backup: opts.backup !== false,
    allowChanged: Boolean(opts.allowChanged),
    onLine: (line) => ctx.out.line(line),
    // A bar for a person at a terminal; otherwise (a pipe, a log, --json) the runner reports progress lines.
    ...(process.stderr.isTTY && !ctx.out.json ? { onProgress: progressBar() } : {}),
  });
}
