import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type { CliCommand } from './cli-command.ts';
import { loadCommands } from './commands/index.ts';
import { plainFlagOptions } from './plain-flags.ts';

/** What commander itself gives the command's action for `words`, registered as bin.ts registers it. */
async function commanderOptions(spec: CliCommand, words: string[]): Promise<Record<string, unknown>> {
  let seen: Record<string, unknown> = {};
  const program = new Command('crew').exitOverride();
  const cmd = program.command([spec.name, ...(spec.args ?? [])].join(' ')).exitOverride();
  for (const [flags, description] of spec.options ?? []) cmd.option(flags, description);
  cmd.action((...params: unknown[]) => {
    seen = (params.at(-1) as Command).opts();
  });
  await program.parseAsync([spec.name, ...words], { from: 'user' });
  return seen;
}

describe('plainFlagOptions', () => {
  it('gives exactly the options commander gives, for every form it accepts', async () => {
    const [migrate] = await loadCommands(['migrate']);
    const [serve] = await loadCommands(['serve']);
    const forms: Array<[CliCommand, string[]]> = [
      [migrate!, []],
      [migrate!, ['--list']],
      [migrate!, ['--list', '--json']],
      [migrate!, ['--json', '--list']],
      [migrate!, ['--dry-run', '--allow-changed']],
      [migrate!, ['--no-backup']],
      [migrate!, ['--rollback', '--force', '--yes']],
      [serve!, []],
      [serve!, ['--no-migrate']],
    ];
    for (const [spec, words] of forms) {
      const plain = plainFlagOptions(spec, words);
      const label = `${spec.name} ${words.join(' ')}`;
      if (words.includes('--no-backup') || words.includes('--no-migrate')) {
        expect(plain, label).toBeNull(); // negations are commander's
        continue;
      }
      expect(plain, label).toEqual(await commanderOptions(spec, words));
    }
  });

  it('leaves to commander what it does not parse itself: help, arguments, short, unknown or repeated flags', async () => {
    const [migrate] = await loadCommands(['migrate']);
    for (const words of [['--help'], ['users'], ['-y'], ['--lsit'], ['--list', '--list'], ['--list=1'], ['--'], ['--version']]) {
      expect(plainFlagOptions(migrate!, words), words.join(' ')).toBeNull();
    }
  });
});
