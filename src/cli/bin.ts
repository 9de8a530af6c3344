#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command, Help } from 'commander';
import { ConfigError, loadConfig, wantsColour, type Config } from '../config.ts';
import type { CliCommand, CliContext } from './cli-command.ts';
import { UsageError } from './cli-command.ts';
import { Output } from './output.ts';
import { GROUP_DESCRIPTIONS, HELP_EXTRA_LINES, loadCommands } from './commands/index.ts';
import { packageRoot } from '../lib/package-root.ts';
import { plainFlagOptions } from './plain-flags.ts';

/** The version in package.json, as `crew --version` prints it. */
function crewVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** Top-level help: each command, plus the extra forms in HELP_EXTRA_LINES (display only) after the command they use. */
function visibleCommandsWith(commander: typeof import('commander')) {
  return function visibleCommands(this: Help, cmd: Command): Command[] {
    const commands = commander.Help.prototype.visibleCommands.call(this, cmd);
    if (cmd.parent) return commands;
    return commands.flatMap((c) => [
      c,
      ...HELP_EXTRA_LINES.filter((extra) => extra.after === c.name()).map((extra) => {
        const shown = new commander.Command(extra.usage).description(extra.description);
        shown.helpOption(false);
        return shown;
      }),
    ]);
  };
}

/** Builds the context a command runs in. */
function contextFor(out: Output): CliContext {
  let config: Config | null = null;
  const getConfig = () => (config ??= loadConfig());
  return {
    out,
    config: getConfig,
    // A getter: touching process.stdin builds its stream, which commands that never ask (e.g. --list) need not pay for.
    get interactive() {
      return Boolean(process.stdin.isTTY);
    },
    async withDatabase(fn, options = {}) {
      const cfg = getConfig();
      const { openDatabase } = await import('../db/open-database.ts');
      const { DatabaseNotMigratedError, missingTableOf } = await import('../db/engine-adapter.ts');
      const readOnly = options.readOnly ?? false;
      const open = await openDatabase(cfg.database, { poolSize: 2, mustExist: readOnly || (options.mustExist ?? false), readOnly, dryRun: options.dryRun ?? false });
      try {
        return await fn(open, cfg);
      } catch (error) {
        // A raw "no such table: users" tells an operator nothing; say the database is not set up and what to run.
        const table = missingTableOf(error);
        throw table === null ? error : new DatabaseNotMigratedError(open.adapter.location, table);
      } finally {
        await open.close();
      }
    },
    async confirm(question) {
      const { createInterface } = await import('node:readline/promises'); // only commands that ask load it
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      try {
        return /^y(es)?$/i.test((await rl.question(question)).trim());
      } finally {
        rl.close();
      }
    },
  };
}

/** Maps a failure to its exit code: 2 for bad usage, 1 for a failed operation. */
function exitCodeFor(error: unknown, out: Output): number {
  const e = error as { name?: string; exitCode?: number; code?: string; message?: string };
  if (error instanceof UsageError) {
    out.error(error.message, 'bad_usage');
    return 2;
  }
  if (error instanceof ConfigError) {
    out.error(`configuration: ${error.message}`, 'invalid_config');
    return 1;
  }
  if (e.name === 'MigrationError') {
    out.error(e.message ?? String(error), e.code);
    return e.exitCode ?? 1;
  }
  out.error(e.message ?? String(error), e.code && /^[a-z_]+$/.test(e.code) ? e.code : 'failed');
  return 1;
}

function register(program: Command, spec: CliCommand, run: (spec: CliCommand, args: string[], opts: Record<string, unknown>) => Promise<void>): void {
  const words = spec.name.split(' ');
  let parent = program;
  for (const word of words.slice(0, -1)) {
    parent = parent.commands.find((c) => c.name() === word) ?? parent.command(word).description(GROUP_DESCRIPTIONS[word] ?? `${word} commands`);
    parent.exitOverride();
  }
  const cmd = parent.command([words.at(-1), ...(spec.args ?? [])].join(' ')).description(spec.description);
  for (const [flags, description] of spec.options ?? []) cmd.option(flags, description);
  cmd.exitOverride();
  cmd.action(async (...params: unknown[]) => {
    const command = params.at(-1) as Command;
    const args = params.slice(0, (spec.args ?? []).length) as string[];
    await run(spec, args, command.opts());
  });
}

/** Runs the CLI and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  // Answered before any command group loads, so `crew -v` is instant.
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
    process.stdout.write(`crew ${crewVersion()}\n`);
    return 0;
  }
  const json = argv.includes('--json');
  const out = new Output({ json, colour: wantsColour(Boolean(process.stdout.isTTY)) });
  const specs = await loadCommands(argv);
  const runSpec = async (spec: CliCommand, args: string[], opts: Record<string, unknown>): Promise<number> => {
    try {
      return await spec.run(contextFor(out), args, opts);
    } catch (error) {
      return exitCodeFor(error, out);
    }
  };
  // `crew migrate --list`, `crew serve`: a one-word command and only flags it declares run without loading commander
  // (~0.1 of a bare `node` start, bench/); plainFlagOptions gives what commander would, and declines everything else.
  const [word, ...flags] = argv;
  const plain = specs.find((spec) => spec.name === word);
  const plainOpts = plain && flags.every((flag) => flag.startsWith('--')) ? plainFlagOptions(plain, flags) : null;
  if (plain && plainOpts) return runSpec(plain, [], plainOpts);

  const commander = await import('commander');
  const program = new commander.Command('crew').description('Production Crew: migrations and two-factor authentication').exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.version(`crew ${crewVersion()}`, '-v, --version', 'print the crew version');
  program.configureHelp({ visibleCommands: visibleCommandsWith(commander) });
  program.showHelpAfterError('(run `crew --help` for the commands)');
  let exitCode = 0;
  for (const spec of specs) {
    register(program, spec, async (s, args, opts) => {
      exitCode = await runSpec(s, args, opts);
    });
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof commander.CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      if (error.code === 'commander.help') return error.exitCode === 0 ? 0 : 2; // help shown because no command was given
      if (error.code === 'commander.unknownCommand') {
        process.stderr.write(`Commands: ${(await loadCommands([])).map((c) => c.name).join(', ')}\n`);
      }
      return 2;
    }
    return exitCodeFor(error, out);
  }
  return exitCode;
}

// A reader that stops early (`crew migrate --list | head -1`) closes the pipe; the next write fails with EPIPE. That
// must not crash a command, least of all one applying migrations: the lines are dropped and the work finishes.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}
const code = await main(process.argv.slice(2));
process.exitCode = code;
