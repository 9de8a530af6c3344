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

/** One sentence per command group for the top-level help (the group's commands have their own). */
export const GROUP_DESCRIPTIONS: Readonly<Record<string, string>> = {
  db: 'check the live schema against the migrations (db verify) and write a backup now (db backup)',
  users: 'create accounts (the way in when registration is closed) and list them with their two-factor status',
  '2fa': "show a user's two-factor status, or reset it when they lost their phone and backup codes",
  keys: 'see which encryption keys protect the stored TOTP secrets (keys status) and move them to a new key (keys rotate)',
};

/** Extra lines for the top-level help, shown after the command they belong to: forms that share one command. */
export const HELP_EXTRA_LINES: ReadonlyArray<{ after: string; usage: string; description: string }> = [
  { after: 'migrate', usage: 'migrate create NAME [--sql]', description: 'write your next migration file into ./migrations (or CREW_MIGRATIONS_DIR), never into crew' },
  { after: 'migrate', usage: 'migrate forget NAME', description: 'remove the record of an applied migration whose file was deleted (backs up first)' },
];

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
