import { describe, expect, it } from 'vitest';
import { COMMAND_GROUPS, loadCommands } from './index.ts';

describe('loadCommands', () => {
  it('loads only the group of the first word, so `migrate --list` does not pay for the other commands', async () => {
    expect((await loadCommands(['migrate', '--list'])).map((c) => c.name)).toEqual(['migrate']);
    expect((await loadCommands(['--json', 'db', 'verify'])).map((c) => c.name)).toEqual(['db verify', 'db backup']);
    expect((await loadCommands(['2fa', 'status', 'ada'])).map((c) => c.name)).toEqual(['2fa status', '2fa reset']);
  });

  it('loads every command, in help order, for help and for a word that names no group', async () => {
    const all = (await loadCommands([])).map((c) => c.name);
    expect(all).toEqual(['migrate', 'serve', 'db verify', 'db backup', 'users create', 'users list', '2fa status', '2fa reset', 'keys status', 'keys rotate']);
    expect((await loadCommands(['--help'])).map((c) => c.name)).toEqual(all);
    expect((await loadCommands(['migarte', '--list'])).map((c) => c.name)).toEqual(all);
    expect((await loadCommands(['constructor'])).map((c) => c.name)).toEqual(all);
  });

  it('names each command after its group', async () => {
    for (const [word, load] of Object.entries(COMMAND_GROUPS)) {
      for (const command of await load()) expect(command.name.split(' ')[0]).toBe(word);
    }
  });
});
