import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { guideMigrationFile } from '../helpers/app-migration-fixtures.ts';
import { ROOT, runCrew, SPAWN_TEST_TIMEOUT_MS } from '../helpers/run-crew.ts';

// docs/MIGRATION_GUIDE.md's examples cannot go stale: every ```-block that starts with `$ npx crew …` is run,
// in document order, in one fresh folder with the default database (./production_crew.db, as a new user
// would), and its output compared. In an example, `…` stands for any lines; times and the folder vary.

interface Example {
  args: string[];
  expected: string[];
  /** Migration files the guide shows before this command (`-- migrations/…` / `// migrations/…` blocks), written first. */
  files: Array<{ path: string; text: string }>;
}

function examples(markdown: string): Example[] {
  const out: Example[] = [];
  let files: Example['files'] = [];
  for (const block of markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)) {
    const body = block[2]!;
    const command = /^\$ npx crew ([^\n]+)\n([\s\S]*)$/.exec(body);
    const file = guideMigrationFile(body);
    if (command) {
      out.push({ args: command[1]!.trim().split(/\s+/), expected: command[2]!.trimEnd().split('\n'), files });
      files = [];
    } else if (file) files.push(file);
  }
  return out;
}

/** Output lines with what differs between runs made equal: the folder, times, time stamps and column padding. */
function normalise(lines: string[], folder: string): string[] {
  return lines.map((l) =>
    l
      .replaceAll(folder, '/srv/crew')
      .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/g, '<time>')
      .replace(/\d{8}T\d{9}Z/g, '<stamp>')
      .replace(/\s+/g, ' ')
      .trimEnd(),
  );
}

/** True when `actual` is `expected` with each `…` line standing for zero or more lines. */
function matches(expected: string[], actual: string[]): boolean {
  const [first, ...rest] = expected;
  if (first === undefined) return actual.length === 0;
  if (first === '…') return actual.some((_, i) => matches(rest, actual.slice(i))) || matches(rest, []);
  return actual[0] === first && matches(rest, actual.slice(1));
}

describe('docs/MIGRATION_GUIDE.md examples', { timeout: SPAWN_TEST_TIMEOUT_MS }, () => {
  const folder = mkdtempSync(join(tmpdir(), 'crew-guide-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));
  const guide = examples(readFileSync(join(ROOT, 'docs', 'MIGRATION_GUIDE.md'), 'utf8'));

  it('has examples to check', () => {
    expect(guide.length).toBeGreaterThanOrEqual(4);
  });

  it.each(guide.map((e, i) => [i + 1, e.args.join(' '), e] as const))('example %i: crew %s prints what the guide shows', async (_n, _command, example) => {
    for (const file of example.files) {
      mkdirSync(dirname(join(folder, file.path)), { recursive: true });
      writeFileSync(join(folder, file.path), file.text);
    }
    const run = await runCrew(example.args, { cwd: folder });
    expect(run.code, run.stderr).toBe(0);
    const actual = normalise(run.stdout.trimEnd().split('\n'), folder);
    const expected = normalise(example.expected, folder);
    expect(matches(expected, actual), `expected (… = any lines):\n${expected.join('\n')}\n\nactual:\n${actual.join('\n')}`).toBe(true);
  });
});
