import { existsSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADD_PHONE_SQL, NOTES_TS, PINNED_MJS } from '../helpers/app-migration-fixtures.ts';
import { ROOT, runCrew, scratchAppMigrationsDir, SPAWN_TEST_TIMEOUT_MS } from '../helpers/run-crew.ts';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';

// Issue 13, as a new user would do it: the app's own migrations in a folder OUTSIDE crew, with no package.json,
// in the three formats (.sql, .ts, .mjs), run by the shipped CLI after crew's built-ins, in one history.

/** crew's built-ins in run order, read from crew's folder, so a new built-in does not change these tests. */
const BUILT_INS = readdirSync(join(ROOT, 'src', 'migrations'))
  .filter((f) => /^\d{4,}_[a-z0-9_-]+\.ts$/.test(f))
  .sort()
  .map((f) => f.replace(/^\d+_|\.ts$/g, ''));
const N = BUILT_INS.length;

describe.each(TEST_DIALECTS)('the app’s own migrations beside crew’s built-ins, on %s', { timeout: SPAWN_TEST_TIMEOUT_MS }, (kind) => {
  let test: TestDatabase;
  let dir: string;
  beforeEach(async () => {
    test = await createTestDatabase(kind);
    dir = scratchAppMigrationsDir();
    writeFileSync(join(dir, '0001_add_phone.sql'), ADD_PHONE_SQL);
    writeFileSync(join(dir, '0002_notes.ts'), NOTES_TS);
    writeFileSync(join(dir, '0003_pinned_notes.mjs'), PINNED_MJS);
  });
  afterEach(async () => {
    await test.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const crew = (args: string[]) => runCrew(args, { env: { DATABASE_URL: test.url, CREW_MIGRATIONS_DIR: dir, CREW_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64') }, cwd: test.dir });
  const states = async () => Object.fromEntries((JSON.parse((await crew(['migrate', '--list', '--json'])).stdout).migrations as Array<{ name: string; state: string }>).map((m) => [m.name, m.state]));

  it('applies the built-ins, then the .sql, .ts and .mjs ones; --list and db verify show both groups', async () => {
    expect(existsSync(join(dir, 'package.json'))).toBe(false);
    const run = await crew(['migrate']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`Migration Summary\n${[...BUILT_INS, 'add_phone', 'notes', 'pinned_notes'].map((n) => `✓ ${n}`).join('\n')}\nTotal: ${N + 3} successful, 0 failed`);

    const list = await crew(['migrate', '--list']);
    expect(list.stdout).toMatch(/^Available migrations:\nBuilt in \(crew\):\n {2}✓ users \(0001_users\)/);
    expect(list.stdout).toMatch(new RegExp(`\\nYours \\(${dir}\\):\\n {2}✓ add_phone +\\(0001_add_phone\\) +applied .+\\n {2}✓ notes +\\(0002_notes\\) +applied .+\\n {2}✓ pinned_notes \\(0003_pinned_notes\\) +applied `));
    const json = JSON.parse((await crew(['migrate', '--list', '--json'])).stdout);
    expect(json.appMigrationsDir).toBe(dir);
    expect(json.migrations.map((m: { name: string; source: string }) => `${m.source}:${m.name}`)).toEqual([...BUILT_INS.map((n) => `crew:${n}`), 'app:add_phone', 'app:notes', 'app:pinned_notes']);

    const verify = await crew(['db', 'verify']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toContain(`✓ Schema matches all ${N + 3} applied migration(s): ${N} built in (crew), 3 yours`);

    // Again: nothing to do, and the same history.
    expect((await crew(['migrate'])).stdout).toContain(`All ${N + 3} migration(s) are already applied; nothing to do.`);
  });

  it('rolls back each of them (newest first), and refuses to roll back a built-in while any of them is applied', async () => {
    expect((await crew(['migrate'])).code).toBe(0);
    const builtIn = await crew(['migrate', 'encrypt_legacy_secrets', '--rollback', '--yes']);
    expect(builtIn.code).toBe(1);
    expect(builtIn.stderr).toContain("cannot roll back encrypt_legacy_secrets, one of crew's built-in migrations, while your migration(s) add_phone, notes, pinned_notes are applied");

    const notesFirst = await crew(['migrate', 'notes', '--rollback', '--yes']);
    expect(notesFirst.code).toBe(1);
    expect(notesFirst.stderr).toContain('applied migration(s) pinned_notes depend on it');

    for (const name of ['pinned_notes', 'notes', 'add_phone']) {
      const run = await crew(['migrate', name, '--rollback', '--yes']);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toContain(`✓ ${name} rolled back`);
    }
    expect(await states()).toMatchObject({ add_phone: 'pending', notes: 'pending', pinned_notes: 'pending', encrypt_legacy_secrets: 'applied' });
    expect((await crew(['db', 'verify'])).code).toBe(0);
    // The schema really went back: applying again recreates phone and notes (it would fail on a leftover column).
    const again = await crew(['migrate']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain('Total: 3 successful, 0 failed');
    // With none of yours applied, a built-in may be rolled back again.
    for (const name of ['pinned_notes', 'notes', 'add_phone']) expect((await crew(['migrate', name, '--rollback', '--yes'])).code).toBe(0);
    expect((await crew(['migrate', 'encrypt_legacy_secrets', '--rollback', '--yes'])).code).toBe(0);
  });

  it('a rollback dry run of a SQL migration prints its down section and changes nothing', async () => {
    expect((await crew(['migrate'])).code).toBe(0);
    const run = await crew(['migrate', 'add_phone', '--rollback', '--dry-run']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('ALTER TABLE users DROP COLUMN phone');
    expect((await states()).add_phone).toBe('applied');
  });

  it('refuses an edited applied file, whatever its format', async () => {
    expect((await crew(['migrate'])).code).toBe(0);
    for (const file of ['0001_add_phone.sql', '0002_notes.ts', '0003_pinned_notes.mjs']) {
      const path = join(dir, file);
      const original = readFileSync(path, 'utf8');
      writeFileSync(path, `${original}\n-- edited after it ran\n`.replace('\n-- edited', file.endsWith('.sql') ? '\n-- edited' : '\n// edited'));
      const run = await crew(['migrate']);
      expect(run.code, file).toBe(1);
      expect(run.stderr).toMatch(/applied migration\(s\) changed since they ran: (add_phone|notes|pinned_notes)\. A released migration must not be edited/);
      expect((await crew(['db', 'verify'])).stdout).toContain('file changed since it was applied');
      writeFileSync(path, original);
    }
    expect((await crew(['migrate'])).code).toBe(0);
  });

  it('`migrate create` writes the next number into that folder (TypeScript or --sql), never into crew', async () => {
    const crewOwn = readdirSync(join(ROOT, 'src', 'migrations')).sort();
    const ts = await crew(['migrate', 'create', 'labels']);
    expect(ts.code, ts.stderr).toBe(0);
    expect(ts.stdout).toContain(`✓ Created ${join(dir, '0004_labels.ts')}`);
    const sqlRun = await crew(['migrate', 'create', 'phone_index', '--sql']);
    expect(sqlRun.code, sqlRun.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['0001_add_phone.sql', '0002_notes.ts', '0003_pinned_notes.mjs', '0004_labels.ts', '0005_phone_index.sql']);
    expect(readdirSync(join(ROOT, 'src', 'migrations')).sort()).toEqual(crewOwn);
    // Names are unique across both sources.
    const clash = await crew(['migrate', 'create', 'sessions']);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain('a migration named "sessions" already exists');
    // The scaffolds run as they are (empty up/down), so a new user's first `crew migrate` works.
    const run = await crew(['migrate']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`Total: ${N + 5} successful, 0 failed`);
    expect((await crew(['migrate', 'phone_index', '--rollback', '--yes'])).code).toBe(0);
  });

  it('`migrate create` makes the folder when it does not exist yet', async () => {
    rmSync(dir, { recursive: true, force: true });
    const run = await crew(['migrate', 'create', 'first', '--sql']);
    expect(run.code, run.stderr).toBe(0);
    expect(readdirSync(dir)).toEqual(['0001_first.sql']);
  });

  it('refuses a name used by a built-in, naming both files', async () => {
    writeFileSync(join(dir, '0004_users.sql'), '-- migrate:up\n-- migrate:down\n');
    const run = await crew(['migrate']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`the migration name "users" is used twice: ${join(ROOT, 'src', 'migrations', '0001_users.ts')} (crew) and ${join(dir, '0004_users.sql')} (yours)`);
  });

  it('a SQL file that cannot be read as a migration is named, with the cause and what to do', async () => {
    writeFileSync(join(dir, '0004_no_down.sql'), '-- migrate:up\nCREATE TABLE x (id INTEGER);\n');
    const run = await crew(['migrate']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`✗ no_down failed: migration 0004_no_down failed to import (${join(dir, '0004_no_down.sql')}): no \`-- migrate:down\` section: write how to undo the change (an empty section is allowed, if nothing needs undoing). Fix the file, then run \`crew migrate\` again.`);
  });

  it('warns about an applied migration whose file was deleted, and `migrate forget` removes its row after a backup', async () => {
    expect((await crew(['migrate'])).code).toBe(0);
    unlinkSync(join(dir, '0003_pinned_notes.mjs'));
    const warned = await crew(['migrate']);
    expect(warned.code).toBe(0);
    expect(warned.stdout).toContain('! pinned_notes is applied, but its file is missing');
    expect(warned.stdout).not.toContain('nothing to do');
    expect(warned.stdout).toContain('No pending migrations, but 1 applied migration(s) have no file: pinned_notes. Restore the file(s), or if one was deleted on purpose run `crew migrate forget NAME`.');
    expect((await crew(['migrate', 'pinned_notes', '--rollback', '--yes'])).code).toBe(2); // no file: nothing to run down() from

    const withFile = await crew(['migrate', 'forget', 'notes', '--yes']);
    expect(withFile.code).toBe(1);
    expect(withFile.stderr).toContain('notes still has its file');
    const noTty = await crew(['migrate', 'forget', 'pinned_notes']);
    expect(noTty.code).toBe(1);
    expect(noTty.stderr).toContain('refusing to forget pinned_notes without confirmation: stdin is not a terminal; pass --yes to confirm');
    const done = await crew(['migrate', 'forget', 'pinned_notes', '--yes']);
    expect(done.code, done.stdout + done.stderr).toBe(0);
    expect(done.stdout).toMatch(/✓ Backup written to .+\n/);
    expect(done.stdout).toContain('✓ pinned_notes forgotten: its bookkeeping row is removed; the schema is unchanged');
    expect(await states()).not.toHaveProperty('pinned_notes');
    expect((await crew(['migrate'])).stdout).toContain(`All ${N + 2} migration(s) are already applied; nothing to do.`);
    expect((await crew(['migrate', 'forget', 'pinned_notes', '--yes'])).code).toBe(2);
  });
});
