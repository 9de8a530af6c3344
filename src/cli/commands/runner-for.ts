import type { Config } from '../../config.ts';
import type { OpenDatabase } from '../../db/open-database.ts';
import { MigrationRunner } from '../../migrate/migration-runner.ts';
import type { CliContext } from '../cli-command.ts';
import { encryptionKeysFor } from '../../deps.ts';
import { SecretBox } from '../../lib/secret-box.ts';

/** A MigrationRunner wired to the configuration, the command's flags and the command's output. */
export function runnerFor(ctx: CliContext, open: OpenDatabase, config: Config, opts: Record<string, unknown>): MigrationRunner {
  let box: SecretBox | undefined;
  return new MigrationRunner(open, {
    migrationsDir: config.migrationsDir ?? undefined,
    backup: opts.backup === false ? false : { keep: config.backupsToKeep },
    allowChanged: Boolean(opts.allowChanged),
    onLine: (line) => ctx.out.line(line),
    // Loaded only when a migration asks for it, so `--list` never creates a key file.
    encryptSecret: (plain) => (box ??= new SecretBox(encryptionKeysFor(config, open))).encrypt(plain),
  });
}
