import type { Config } from '../config.ts';
import type { OpenDatabase } from '../db/open-database.ts';
import type { Output } from './output.ts';

/** What every command receives. */
export interface CliContext {
  out: Output;
  /** Loads the configuration (throws ConfigError naming the variable). */
  config(): Config;
  /**
   * Opens the configured database, runs `fn`, and always closes it. `readOnly` commands never create a
   * database (a missing one is an error naming where it looked) and cannot write; `mustExist` refuses a missing one too.
   * A `dryRun` changes no file: no journal-mode switch, and a missing SQLite file is not created.
   */
  withDatabase<T>(fn: (open: OpenDatabase, config: Config) => Promise<T>, options?: { readOnly?: boolean; mustExist?: boolean; dryRun?: boolean }): Promise<T>;
  /** Whether stdin is a terminal (for confirmations). */
  interactive: boolean;
  /** Asks a yes/no question on the terminal. */
  confirm(question: string): Promise<boolean>;
}

/** A CLI command as data: its words, arguments, options and what it does; `run` returns the exit code. */
export interface CliCommand {
  /** One or two words, e.g. `migrate` or `db verify`. */
  name: string;
  description: string;
  /** Commander argument syntax, e.g. `[name]` or `<username>`. */
  args?: string[];
  /** Commander option flags and descriptions. */
  options?: Array<[flags: string, description: string]>;
  run(ctx: CliContext, args: string[], options: Record<string, unknown>): Promise<number>;
}

/** Bad usage: exit code 2, and the message says what exists. */
export class UsageError extends Error {
  override name = 'UsageError';
}
