import type { CliCommand } from '../cli-command.ts';

/**
 * Every `crew` command group by its first word, in help order, each loaded only when used: `crew migrate --list`
 * then never loads the password hasher, the users and 2FA modules or the web server (start-up time, bench/).
 */
export const COMMAND_GROUPS: Readonly<Record<string, () => Promise<CliCommand[]>>> = {
  migrate: async () => [(await import('./migrate.ts')).migrateCommand],
  serve: async () => [(await import('./serve.ts')).serveCommand],
  db: async () => {
    const { dbVerifyCommand, dbBackupCommand } = await import('./db.ts');
    return [dbVerifyCommand, dbBackupCommand];
  },
  users: async () => {
    const { usersCreateCommand, usersListCommand } = await import('./users.ts');
    return [usersCreateCommand, usersListCommand];
  },
  '2fa': async () => {
    const { twoFactorStatusCommand, twoFactorResetCommand } = await import('./two-factor.ts');
    return [twoFactorStatusCommand, twoFactorResetCommand];
  },
  keys: async () => {
    const { keysStatusCommand, keysRotateCommand } = await import('./keys.ts');
    return [keysStatusCommand, keysRotateCommand];
  },
};

/**
 * The commands `argv` can reach: those of its first word's group, or every command when that word names no group
 * (help, a mistyped command: both list what exists).
 * @example await loadCommands(['migrate', '--list']) // [migrateCommand]
 */
export async function loadCommands(argv: readonly string[]): Promise<CliCommand[]> {
  const word = argv.find((arg) => !arg.startsWith('-'));
  const group = word !== undefined && Object.hasOwn(COMMAND_GROUPS, word) ? COMMAND_GROUPS[word] : undefined;
  if (group) return group();
  return (await Promise.all(Object.values(COMMAND_GROUPS).map((load) => load()))).flat();
}
