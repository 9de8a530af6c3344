import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checksumOf } from '../../src/migrate/discover.ts';
import { ROOT, runCrew, scratchAppMigrationsDir, SPAWN_TEST_TIMEOUT_MS } from '../helpers/run-crew.ts';
import { createTestDatabase, loadCrew010Database, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';

// Databases made by crew 0.1.0 (the code on main before the engine adapter and the esbuild loader) are real
// users' data. The fixtures are dumps of such databases, made by running that release's `crew migrate` and
// `crew users create ada`: the bookkeeping rows hold the checksums it stored, over the .ts source text.
const FIXTURES = join(ROOT, 'test', 'migrate', 'fixtures');

describe.each(TEST_DIALECTS)('a %s database migrated by crew 0.1.0', { timeout: SPAWN_TEST_TIMEOUT_MS }, (kind) => {
  let test: TestDatabase;
  beforeEach(async () => {
    test = await createTestDatabase(kind);
    loadCrew010Database(test);
  });
  afterEach(async () => {
    await test.cleanup();
  });
  const crew = (args: string[]) => runCrew(args, { env: { DATABASE_URL: test.url, CREW_ENCRYPTION_KEY: Buffer.alloc(32, 0).toString('base64') }, cwd: test.dir });

  it('has 0.1.0\'s migrations applied with unchanged checksums; later ones apply on top, users kept', async () => {
    const list = await crew(['migrate', '--list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout).migrations as Array<{ id: string; state: string }>;
    const files = readdirSync(join(ROOT, 'src', 'migrations')).filter((f) => /^\d{4}_.+\.ts$/.test(f)).sort();
    // 0001–0006 were released with 0.1.0; later ones (0007_adopt_flask_users, …) are pending on such a database.
    expect(rows.map((r) => [r.id, r.state])).toEqual(files.map((f) => [f.replace(/\.ts$/, ''), /^000[1-6]_/.test(f) ? 'applied' : 'pending']));
    const run = await crew(['migrate']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Total: ${files.length - 6} successful, 0 failed`);
    expect(run.stdout).toContain('no Flask "user" table: nothing to adopt');
    const again = await crew(['migrate']);
    expect(again.stdout).toContain(`All ${files.length} migration(s) are already applied; nothing to do.`);
    const verify = await crew(['db', 'verify', '--json']);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, applied: files.length, problems: [] });
    expect(JSON.parse((await crew(['users', 'list', '--json'])).stdout).users).toEqual([expect.objectContaining({ id: 1, username: 'ada' })]);
  });

  it('gains the `source` column when migrated with the app’s own migrations: its rows are crew’s, the new one the app’s', async () => {
    const dir = scratchAppMigrationsDir();
    try {
      writeFileSync(join(dir, '0001_add_phone.sql'), '-- expects: users.phone\n-- migrate:up\nALTER TABLE users ADD COLUMN phone TEXT;\n-- migrate:down\nALTER TABLE users DROP COLUMN phone;\n');
      const env = { DATABASE_URL: test.url, CREW_MIGRATIONS_DIR: dir, CREW_ENCRYPTION_KEY: Buffer.alloc(32, 0).toString('base64') };
      // Read-only first: --list reads the old table (no `source` yet) without changing it.
      const before = await runCrew(['migrate', '--list', '--json'], { env, cwd: test.dir });
      expect(before.code, before.stderr).toBe(0);
      const rows = (out: string) => JSON.parse(out).migrations as Array<{ id: string; source: string; state: string }>;
      const released = (r: { id: string }) => /^000[1-6]_/.test(r.id) && r.id !== '0001_add_phone'; // what crew 0.1.0 applied
      expect(rows(before.stdout).filter(released).map((r) => `${r.source}:${r.state}`)).toEqual(Array(6).fill('crew:applied'));
      expect(rows(before.stdout).filter((r) => r.source === 'app').map((r) => `${r.id}:${r.state}`)).toEqual(['0001_add_phone:pending']);
      const run = await runCrew(['migrate'], { env, cwd: test.dir });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toContain('✓ add_phone\nTotal: ');
      const after = rows((await runCrew(['migrate', '--list', '--json'], { env, cwd: test.dir })).stdout);
      expect(after.map((r) => `${r.source}:${r.state}`)).toEqual([...after.filter((r) => r.source === 'crew').map(() => 'crew:applied'), 'app:applied']);
      const verify = await runCrew(['db', 'verify', '--json'], { env, cwd: test.dir });
      expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, appliedBySource: { app: 1 } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stored each checksum as the SHA-256 of the released .ts source, which this code still computes', () => {
    const dump = readFileSync(join(FIXTURES, `main-0.1.0.${kind}.sql`), 'utf8');
    for (const file of readdirSync(join(ROOT, 'src', 'migrations')).filter((f) => /^000[1-6]_/.test(f))) {
      expect(dump, file).toContain(checksumOf(readFileSync(join(ROOT, 'src', 'migrations', file), 'utf8')));
    }
  });
});
