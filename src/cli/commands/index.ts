import type { CliCommand } from '../cli-command.ts';
import { dbBackupCommand, dbVerifyCommand } from './db.ts';
import { migrateCommand } from './migrate.ts';
import { serveCommand } from './serve.ts';
import { twoFactorResetCommand, twoFactorStatusCommand } from './two-factor.ts';
import { usersCreateCommand, usersListCommand } from './users.ts';

/** Every `crew` command, in help order. */
export const COMMANDS: CliCommand[] = [
  migrateCommand,
  serveCommand,
  dbVerifyCommand,
  dbBackupCommand,
  usersCreateCommand,
  usersListCommand,
  twoFactorStatusCommand,
  twoFactorResetCommand,
];
