import type { Config } from '../config.ts';
import type { OpenDatabase } from '../db/open-database.ts';
import { encryptionKeysFor } from '../deps.ts';
import { SecretBox } from '../lib/secret-box.ts';
import { appMigrationsDirFor } from './discover.ts';
import { MigrationRunner, type RunnerOptions } from './migration-runner.ts';

export { appMigrationsDirFor } from './discover.ts';

/**
 * The MigrationRunner that `crew migrate` and `crew serve` use: the app's migrations folder, backups kept and
 * the secret-encryption key all come from the configuration.
 */
export function runnerFromConfig(
  open: Pick<OpenDatabase, 'db' | 'adapter'>,
  config: Config,
  options: { onLine?: (line: string) => void; onProgress?: RunnerOptions['onProgress']; backup?: boolean; allowChanged?: boolean } = {},
): MigrationRunner {
  let box: SecretBox | undefined;
  const app = appMigrationsDirFor(config);
  return new MigrationRunner(open, {
    // crew's built-ins always come from crew itself; CREW_MIGRATIONS_DIR names the app's own folder.
    appMigrationsDir: app.dir,
    appMigrationsDirOptional: app.optional,
    backup: options.backup === false ? false : { keep: config.backupsToKeep },
    allowChanged: options.allowChanged ?? false,
    ...(options.onLine ? { onLine: options.onLine } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    // The key is loaded only when a migration asks for it, so `--list` never creates a key file.
    encryptSecret: (plain) => (box ??= new SecretBox(encryptionKeysFor(config, open))).encrypt(plain),
    decryptSecret: (envelope) => (box ??= new SecretBox(encryptionKeysFor(config, open))).decrypt(envelope),
  });
}
