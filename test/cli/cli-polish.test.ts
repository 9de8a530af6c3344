// Issue 11, "CLI and operations": what a newcomer tripped over, each as the operator sees it (the shipped bundle).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, runCrew, SPAWN_TEST_TIMEOUT_MS } from '../helpers/run-crew.ts';
import { crewOnTty } from '../helpers/run-crew-tty.ts';
import { createMigratedDatabase, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';
import type { OpenDatabase } from '../../src/db/open-database.ts';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('crew --version and help', { timeout: SPAWN_TEST_TIMEOUT_MS }, () => {
  it.each([['--version'], ['-v']])('%s prints the version and exits 0', async (flag) => {
    const run = await runCrew([flag]);
    expect(run).toEqual({ code: 0, stdout: `crew ${VERSION}\n`, stderr: '' });
  });

  it('top-level help gives each group a sentence and shows `migrate create NAME` on its own line', async () => {
    const run = await runCrew(['--help']);
    expect(run.code).toBe(0);
    const help = run.stdout.replace(/\s+/g, ' ');
    expect(help).toContain('-v, --version print the crew version');
    expect(run.stdout).toMatch(/^ {2}migrate create NAME \[--sql\] {2,}write your next migration file/m);
    expect(run.stdout).toMatch(/^ {2}migrate forget NAME {2,}remove the record/m);
    for (const group of ['db', 'users', '2fa', 'keys']) {
      expect(run.stdout).toMatch(new RegExp(`^ {2}${group} {2,}\\S`, 'm'));
      expect(run.stdout).not.toContain(`${group} commands`);
    }
    expect(help).toContain('keys see which encryption keys protect the stored TOTP secrets');
  });
});

describe.each(TEST_DIALECTS)('crew users create password input on %s', { timeout: SPAWN_TEST_TIMEOUT_MS }, (kind) => {
  let database: TestDatabase & { open: OpenDatabase };
  let env: Record<string, string>;
  beforeEach(async () => {
    database = await createMigratedDatabase(kind);
    env = { DATABASE_URL: database.url, CREW_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64') };
  });
  afterEach(async () => {
    await database.cleanup();
  });
  const usernames = async () => (await database.open.db.selectFrom('users').select('username').execute()).map((u) => u.username);

  it('empty stdin says "no password was given" (exit 2), not a password-policy message', async () => {
    for (const input of ['', '\n']) {
      const run = await runCrew(['users', 'create', 'ada'], { env, input });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^Error: no password was given: pipe it in as the first line of stdin/);
      expect(run.stderr).not.toContain('at least');
    }
    expect(await usernames()).toEqual([]);
  });

  it('on a terminal it asks twice and creates the account when both match', () => {
    const run = crewOnTty(['users', 'create', 'ada'], env, [
      ['Password for ada:', 'correct horse battery staple'],
      ['Repeat the password:', 'correct horse battery staple'],
    ]);
    expect(run.output).toContain('✓ Created user ada');
    expect(run.output).not.toContain('correct horse'); // never echoed
    expect(run.code).toBe(0);
  });

  it('on a terminal two different answers create nothing (exit 2)', async () => {
    const run = crewOnTty(['users', 'create', 'bob'], env, [
      ['Password for bob:', 'correct horse battery staple'],
      ['Repeat the password:', 'correct horse battery stapler'],
    ]);
    expect(run.output).toContain('Error: the two passwords differ; nothing was changed');
    expect(run.code).toBe(2);
    expect(await usernames()).toEqual([]);
  });
});
