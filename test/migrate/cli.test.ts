import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CREW_BIN, runCrew, scratchAppMigrationsDir, SPAWN_TEST_TIMEOUT_MS } from '../helpers/run-crew.ts';
import { createMigratedDatabase, createTestDatabase, restoreBackup, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';
import { BUILT_IN_NAMES } from '../helpers/built-in-migrations.ts';
import { MigrationRunner } from '../../src/migrate/migration-runner.ts';

// The read-only test runs crew as `nobody` (root ignores file modes), which needs the checkout to be reachable by
// others; a clone inside a private `mktemp -d` folder is not, so there the test says why it is skipped.
const NOBODY_REACHES_CREW = spawnSync('runuser', ['-u', 'nobody', '--', 'test', '-r', CREW_BIN]).status === 0;

const env = (test: TestDatabase, extra: Record<string, string> = {}) => ({
  DATABASE_URL: test.url,
  CREW_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  ...extra,
});

describe.each(TEST_DIALECTS)('crew migrate (CLI) on %s', { timeout: SPAWN_TEST_TIMEOUT_MS }, (kind) => {
  let test: TestDatabase;
  beforeEach(async () => {
    test = await createTestDatabase(kind);
  });
  afterEach(async () => {
    await test.cleanup();
  });

  it('prints the guide-shaped report and summary, then --list shows everything applied', async () => {
    const run = await runCrew(['migrate'], { env: env(test), cwd: test.dir });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Found ${BUILT_IN_NAMES.length} migration\\(s\\)\\nRunning migration: users\\n`));
    expect(run.stdout).toContain(`Migration Summary\n${BUILT_IN_NAMES.map((n) => `✓ ${n}\n`).join('')}Total: ${BUILT_IN_NAMES.length} successful, 0 failed`);
    expect(run.stdout).not.toMatch(/\u001b\[/); // no colour codes without a TTY
    const list = await runCrew(['migrate', '--list'], { env: env(test), cwd: test.dir });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/Available migrations:\nBuilt in \(crew\):\n {2}✓ users \(0001_users\) +applied \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    const json = JSON.parse((await runCrew(['migrate', '--list', '--json'], { env: env(test), cwd: test.dir })).stdout);
    expect(json.migrations.map((m: { state: string }) => m.state)).toEqual(BUILT_IN_NAMES.map(() => 'applied'));
    const verify = await runCrew(['db', 'verify', '--json'], { env: env(test), cwd: test.dir });
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, applied: BUILT_IN_NAMES.length, problems: [] });
  });

  it('exits 2 on an unknown migration name and lists the known ones', async () => {
    const run = await runCrew(['migrate', 'nosuch'], { env: env(test), cwd: test.dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`unknown migration "nosuch". Known migrations: ${BUILT_IN_NAMES.join(', ')}`);
  });

  it('checks dependents before asking, refuses without a TTY unless --yes, and backs up into the working folder first', async () => {
    await runCrew(['migrate'], { env: env(test), cwd: test.dir });
    const dependent = await runCrew(['migrate', 'users', '--rollback'], { env: env(test), cwd: test.dir });
    expect(dependent.code).toBe(1);
    expect(dependent.stderr).toMatch(/2fa, sessions, security_events, .*depend on it/);
    expect(dependent.stderr).not.toContain('--yes');
    const refused = await runCrew(['migrate', 'sessions', '--rollback'], { env: env(test), cwd: test.dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('pass --yes to confirm');
    const done = await runCrew(['migrate', 'sessions', '--rollback', '--yes'], { env: env(test), cwd: test.dir });
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain('WARNING: rolling back sessions runs its down() step: table(s) sessions are dropped and every row in them is DELETED.');
    const backup = /✓ Backup written to (.+)\n/.exec(done.stdout)?.[1];
    expect(done.stdout.split(backup ?? '\0').length - 1, 'the backup path is printed once').toBe(1);
    if (kind === 'sqlite') expect(backup).toMatch(new RegExp(`^${test.dir}/backups/production_crew-\\d{8}T\\d{9}Z\\.db$`));
    else expect(backup).toMatch(new RegExp(`^${test.dir}/backups/postgres-crew_t_\\w+-\\d{8}T\\d{9}Z\\.sql$`));
    // The backup holds the database as it was before the rollback: restore it and find the sessions table and its bookkeeping row.
    const restored = await restoreBackup(kind, backup!);
    try {
      expect(await restored.tables()).toEqual(expect.arrayContaining(['users', 'two_factor_auth', 'sessions', 'security_events', 'crew_migrations']));
      expect(await restored.appliedIds()).toContain('0003_sessions');
    } finally {
      await restored.cleanup();
    }
    const list = await runCrew(['migrate', '--list'], { env: env(test), cwd: test.dir });
    expect(list.stdout).toMatch(/○ sessions \(0003_sessions\) +pending/);
  });

  it('a rollback dry run prints the SQL of down() and changes nothing', async () => {
    await runCrew(['migrate'], { env: env(test), cwd: test.dir });
    const run = await runCrew(['migrate', 'sessions', '--rollback', '--dry-run'], { env: env(test), cwd: test.dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/drop table "sessions"/);
    expect(run.stdout).toContain('Dry run: nothing was changed.');
    const list = JSON.parse((await runCrew(['migrate', '--list', '--json'], { env: env(test), cwd: test.dir })).stdout);
    expect(list.migrations.every((m: { state: string }) => m.state === 'applied')).toBe(true);
  });

  it('--list reports what MigrationRunner.status() does (changed, pending, missing file) and refuses a damaged table', async () => {
    // --list reads the bookkeeping table through a plain reader (no Kysely: start-up time, docs/PERFORMANCE.md), so
    // it is checked against the runner on the same database rather than trusted to agree.
    const migrated = await createMigratedDatabase(kind);
    try {
      const appDir = scratchAppMigrationsDir();
      writeFileSync(join(appDir, '0100_extra.sql'), '-- migrate:up\nCREATE TABLE extra (id integer);\n-- migrate:down\nDROP TABLE extra;\n');
      await sql`UPDATE crew_migrations SET checksum = ${'0'.repeat(64)} WHERE id = '0003_sessions'`.execute(migrated.open.db);
      await sql`INSERT INTO crew_migrations (id, name, checksum, applied_at, adopted, execution_ms, source) VALUES ('0099_gone', 'gone', ${'1'.repeat(64)}, '2026-01-02T03:04:05.000Z', ${kind === 'sqlite' ? 1 : sql`true`}, 3, 'app')`.execute(migrated.open.db);
      const crewEnv = env(migrated, { CREW_MIGRATIONS_DIR: appDir });
      const expected = await new MigrationRunner(migrated.open, { appMigrationsDir: appDir }).status();
      expect(expected.map((m) => m.state)).toEqual([...BUILT_IN_NAMES.map((n) => (n === 'sessions' ? 'changed' : 'applied')), 'pending', 'missing-file']);
      const json = await runCrew(['migrate', '--list', '--json'], { env: crewEnv, cwd: migrated.dir });
      expect(json.code, json.stderr).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual({ migrations: expected, appMigrationsDir: appDir });
      const text = await runCrew(['migrate', '--list'], { env: crewEnv, cwd: migrated.dir });
      expect(text.stdout).toContain('! sessions (0003_sessions)');
      expect(text.stdout).toMatch(/\? gone \(0099_gone\) +applied 2026-01-02 03:04:05, but its file is missing/);
      await sql`UPDATE crew_migrations SET checksum = 'garbage' WHERE id = '0001_users'`.execute(migrated.open.db);
      const damaged = await runCrew(['migrate', '--list'], { env: crewEnv, cwd: migrated.dir });
      expect(damaged.code).toBe(1);
      expect(damaged.stderr).toContain('the bookkeeping table crew_migrations is damaged: 0001_users: checksum is not a SHA-256');
      rmSync(appDir, { recursive: true, force: true });
    } finally {
      await migrated.cleanup();
    }
  });

  it('refuses flag combinations that would ignore one of them (exit 2)', async () => {
    for (const args of [['migrate', 'nosuch', '--list'], ['migrate', '--list', '--rollback'], ['migrate', 'create', 'x', '--list'], ['migrate', 'users', 'extra']]) {
      const run = await runCrew(args, { env: env(test), cwd: test.dir });
      expect(run.code, args.join(' ')).toBe(2);
    }
  });

  it('dry run prints SQL and leaves the database empty', async () => {
    const run = await runCrew(['migrate', '--dry-run'], { env: env(test), cwd: test.dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/create table "two_factor_auth"/);
    expect(run.stdout).toContain('Dry run: nothing was changed.');
    if (kind === 'sqlite') {
      // A dry run creates no file at all (test/cli/secrets-at-rest.cli.test.ts covers the rest of "really dry").
      expect(existsSync(test.url)).toBe(false);
      return;
    }
    const list = await runCrew(['migrate', '--list', '--json'], { env: env(test), cwd: test.dir });
    expect(JSON.parse(list.stdout).migrations.every((m: { state: string }) => m.state === 'pending')).toBe(true);
  });
});

describe('crew: bad configuration and unusable databases', { timeout: SPAWN_TEST_TIMEOUT_MS }, () => {
  it('names DATABASE_URL when it is malformed', async () => {
    for (const url of ['mysql://root@localhost/x', 'postgres://', 'postgres://host-without-db']) {
      const run = await runCrew(['migrate', '--list'], { env: { DATABASE_URL: url, CREW_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64') } });
      expect(run.code, url).toBe(1);
      expect(run.stderr, url).toContain('DATABASE_URL');
    }
  });

  it('says PostgreSQL is unreachable without leaking the password', async () => {
    const run = await runCrew(['migrate'], { env: { DATABASE_URL: 'postgres://crew:hunter2@127.0.0.1:1/crew', CREW_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64') } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('cannot reach PostgreSQL at postgres://crew:***@127.0.0.1:1/crew');
    expect(run.stderr).not.toContain('hunter2');
  });

  it('exits 2 on an unknown or missing command and says what exists', async () => {
    const run = await runCrew(['frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown command 'frobnicate'");
    expect(run.stderr).toContain('Commands: migrate, serve, db verify, db backup, users create, users list, 2fa status, 2fa reset, keys status, keys rotate');
    expect((await runCrew([])).code).toBe(2);
    expect((await runCrew(['db'])).code).toBe(2);
    expect((await runCrew(['--help'])).code).toBe(0);
  });

  describe('SQLite files', () => {
    let test: TestDatabase;
    beforeEach(async () => {
      test = await createTestDatabase('sqlite');
    });
    afterEach(async () => {
      spawnSync('umount', [join(test.dir, 'backups')]);
      await test.cleanup();
    });

    it.skipIf(!NOBODY_REACHES_CREW)('reports a read-only database file clearly and changes nothing (needs a checkout `nobody` can read)', async () => {
      await runCrew(['migrate', 'users'], { env: env(test), cwd: test.dir });
      chmodSync(test.dir, 0o755);
      chmodSync(test.url, 0o644);
      // Run as an unprivileged user: root ignores file permissions.
      const run = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, CREW_BIN, 'migrate', '--no-backup'], {
        cwd: test.dir,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: '/tmp', NO_COLOR: '1', DATABASE_URL: test.url },
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/read-only|not writable/);
      const list = await runCrew(['migrate', '--list', '--json'], { env: env(test), cwd: test.dir });
      expect(JSON.parse(list.stdout).migrations.filter((m: { state: string }) => m.state === 'applied')).toHaveLength(1);
    });

    it('reports a database locked by another process', async () => {
      await runCrew(['migrate', 'users'], { env: env(test), cwd: test.dir });
      const holder = new BetterSqlite3(test.url);
      holder.pragma('locking_mode = EXCLUSIVE');
      holder.exec('BEGIN EXCLUSIVE');
      try {
        const run = await runCrew(['migrate'], { env: env(test), cwd: test.dir });
        expect(run.code).toBe(1);
        expect(run.stderr).toContain('locked by another process');
      } finally {
        holder.exec('ROLLBACK');
        holder.close();
      }
      expect((await runCrew(['migrate'], { env: env(test), cwd: test.dir })).code).toBe(0);
    });

    it('does not migrate when the disk fills up during the backup', async () => {
      await runCrew(['migrate', 'users'], { env: env(test), cwd: test.dir });
      const db = new BetterSqlite3(test.url);
      db.prepare('CREATE TABLE ballast (b BLOB)').run();
      db.prepare('INSERT INTO ballast VALUES (randomblob(400000))').run();
      db.close();
      const backups = join(test.dir, 'backups');
      mkdirSync(backups);
      const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', backups], { encoding: 'utf8' });
      expect(mount.status, `this test needs root to mount a tiny tmpfs: ${mount.stderr}`).toBe(0);
      const run = await runCrew(['migrate'], { env: env(test), cwd: test.dir });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/backup to .* failed \(the disk is full\); nothing was migrated/);
      expect(readdirSync(backups)).toEqual([]);
      const list = await runCrew(['migrate', '--list', '--json'], { env: env(test), cwd: test.dir });
      expect(JSON.parse(list.stdout).migrations.filter((m: { state: string }) => m.state === 'applied')).toHaveLength(1);
    });

    it('`crew serve` does not start when a start-up migration fails, and exits 1', async () => {
      const dir = scratchAppMigrationsDir();
      try {
        writeFileSync(join(dir, '0900_broken.ts'), 'export const expects = {};\nexport async function up() { throw new Error("nope"); }\nexport async function down() {}\n');
        const run = await runCrew(['serve'], { env: { ...env(test), CREW_MIGRATIONS_DIR: dir, PORT: '0' } });
        expect(run.code).toBe(1);
        expect(run.stdout).toContain('✗ broken failed: nope');
        expect(run.stdout).not.toContain('listening on');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('scaffolds the next migration with `migrate create`', async () => {
      const dir = join(test.dir, 'migrations');
      mkdirSync(dir);
      writeFileSync(join(dir, '0001_first.ts'), 'export const expects = {}; export async function up() {} export async function down() {}\n');
      const run = await runCrew(['migrate', 'create', 'newfeature'], { env: { ...env(test), CREW_MIGRATIONS_DIR: dir } });
      expect(run.code).toBe(0);
      expect(readdirSync(dir).sort()).toEqual(['0001_first.ts', '0002_newfeature.ts']);
      const again = await runCrew(['migrate', 'create', 'newfeature'], { env: { ...env(test), CREW_MIGRATIONS_DIR: dir } });
      expect(again.code).toBe(2);
      const bad = await runCrew(['migrate', 'create', 'Bad Name'], { env: { ...env(test), CREW_MIGRATIONS_DIR: dir } });
      expect(bad.code).toBe(2);
    });
  });
});
