import { existsSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../src/lib/secret-box.ts';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type OpenDatabase } from '../../src/db/open-database.ts';
import { MigrationRunner } from '../../src/migrate/migration-runner.ts';
import { BUILT_IN_NAMES } from '../helpers/built-in-migrations.ts';
import { scratchMigrationsDir } from '../helpers/run-crew.ts';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';

const GUIDE_COLUMNS = ['id', 'user_id', 'secret', 'enabled', 'backup_codes', 'created_at'];

/** The schema the earlier Flask app created (the seed guide's tables), for adoption tests. */
function flaskSchema(kind: 'sqlite' | 'postgres'): string[] {
  const id = kind === 'postgres' ? 'SERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT';
  return [
    `CREATE TABLE users (id ${id}, username VARCHAR(80) UNIQUE NOT NULL, email VARCHAR(120), password_hash VARCHAR(255) NOT NULL, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)`,
    `CREATE TABLE two_factor_auth (id ${id}, user_id INTEGER NOT NULL UNIQUE REFERENCES users(id), secret VARCHAR(32) NOT NULL, enabled BOOLEAN DEFAULT ${kind === 'postgres' ? 'FALSE' : '0'}, backup_codes TEXT, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)`,
    `INSERT INTO users (username, email, password_hash) VALUES ('ada', 'ada@example.com', 'legacy-hash')`,
    `INSERT INTO two_factor_auth (user_id, secret, enabled, backup_codes) VALUES (1, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', ${kind === 'postgres' ? 'TRUE' : '1'}, '["h1","h2"]')`,
  ];
}

describe.each(TEST_DIALECTS)('migration runner on %s', (kind) => {
  let test: TestDatabase;
  let open: OpenDatabase;
  let dir: string;
  const lines: string[] = [];
  const runner = (extra: ConstructorParameters<typeof MigrationRunner>[1] = {}) =>
    new MigrationRunner(open, { migrationsDir: dir, backup: { keep: 3, dir: join(test.dir, 'backups') }, onLine: (l) => lines.push(l), ...extra });

  beforeEach(async () => {
    test = await createTestDatabase(kind);
    open = await openDatabase(test.config);
    dir = scratchMigrationsDir();
    lines.length = 0;
  });
  afterEach(async () => {
    await open.close();
    await test.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies every migration on a fresh database; a re-run is a no-op', async () => {
    const first = await runner().migrate();
    expect(first.ok).toBe(true);
    expect(first.results.map((r) => r.status)).toEqual(BUILT_IN_NAMES.map(() => 'applied'));
    expect(await open.adapter.columnsOf(open.db, 'two_factor_auth')).toEqual(expect.arrayContaining(GUIDE_COLUMNS));
    const second = await runner().migrate();
    expect(second.ok).toBe(true);
    expect(second.results).toEqual([]);
    expect(second.lines.join('\n')).toContain('already applied; nothing to do');
    expect((await runner().status()).every((s) => s.state === 'applied')).toBe(true);
    expect((await runner().verify()).ok).toBe(true);
  });

  it('adopts a two_factor_auth table made by the earlier Flask app, keeping its rows and encrypting plain secrets', async () => {
    for (const statement of flaskSchema(kind)) await sql.raw(statement).execute(open.db);
    const box = new SecretBox([randomBytes(32)]);
    const report = await runner({ encryptSecret: (plain) => box.encrypt(plain) }).migrate();
    expect(report.ok).toBe(true);
    const text = report.lines.join('\n');
    expect(text).toContain('✓ two_factor_auth table already exists');
    expect(text).toContain('✓ All required columns present');
    expect(text).toContain('✓ added missing column users.role');
    expect(report.results.find((r) => r.name === '2fa')?.status).toBe('adopted');
    // The secret sweep (before the pending migrations) encrypts it, so the frozen 0006 finds nothing left.
    expect(text).toContain('✓ encrypted 1 plain-text TOTP secret(s)');
    expect(text).not.toContain('left by the earlier app');
    expect(report.secretsEncrypted).toBe(1);
    const rows = await sql<{ user_id: number; secret: string; backup_codes: string }>`SELECT user_id, secret, backup_codes FROM two_factor_auth`.execute(open.db);
    expect(rows.rows).toEqual([{ user_id: 1, secret: expect.stringMatching(/^v1\./), backup_codes: '["h1","h2"]' }]);
    expect(box.decrypt(rows.rows[0]!.secret)).toBe('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    expect((await runner().verify()).ok).toBe(true);
  });

  it('refuses to leave plain secrets behind when no encryption key is configured', async () => {
    for (const statement of flaskSchema(kind)) await sql.raw(statement).execute(open.db);
    const report = await runner().migrate();
    expect(report.ok).toBe(false);
    const failed = report.results.find((r) => r.status === 'failed');
    expect(failed).toMatchObject({ name: 'encrypt_legacy_secrets', status: 'failed' });
    expect(failed?.error).toContain('no encryption key is configured (CREW_ENCRYPTION_KEY)');
    const rows = await sql<{ secret: string }>`SELECT secret FROM two_factor_auth`.execute(open.db);
    expect(rows.rows[0]!.secret).toBe('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
  });

  it('refuses to adopt a table that lacks a required column, and lists it', async () => {
    const id = kind === 'postgres' ? 'SERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT';
    await sql.raw(`CREATE TABLE users (id ${id}, username TEXT UNIQUE NOT NULL, password_hash TEXT NOT NULL)`).execute(open.db);
    await sql.raw(`CREATE TABLE two_factor_auth (id ${id}, user_id INTEGER NOT NULL, enabled BOOLEAN)`).execute(open.db);
    const report = await runner().migrate();
    expect(report.ok).toBe(false);
    const failed = report.results.find((r) => r.status === 'failed')!;
    expect(failed.name).toBe('2fa');
    expect(failed.error).toContain('two_factor_auth.secret');
    expect(report.results.filter((r) => r.status === 'not-run').map((r) => r.name)).toEqual(BUILT_IN_NAMES.slice(2));
  });

  it('rolls a failing migration back completely and runs nothing after it', async () => {
    writeFileSync(
      join(dir, '0003_sessions.ts'),
      `export const expects = {};
export async function up(db) {
  await db.schema.createTable('half_done').addColumn('id', 'integer').execute();
  await db.insertInto('users').values({ username: 'ghost', password_hash: 'x' }).execute();
  throw new Error('boom in the middle');
}
export async function down() {}
`,
    );
    const report = await runner().migrate();
    expect(report.ok).toBe(false);
    expect(report.results.map((r) => [r.name, r.status])).toEqual([
      ['users', 'applied'],
      ['2fa', 'applied'],
      ['sessions', 'failed'],
      ...BUILT_IN_NAMES.slice(3).map((name) => [name, 'not-run']),
    ]);
    expect(await open.adapter.columnsOf(open.db, 'half_done')).toBeNull();
    const users = await sql<{ n: number }>`SELECT count(*) AS n FROM users`.execute(open.db);
    expect(Number(users.rows[0]!.n)).toBe(0);
    expect((await runner().status()).map((s) => s.state)).toEqual(['applied', 'applied', ...BUILT_IN_NAMES.slice(2).map(() => 'pending')]);
  });

  it('stops when an applied migration file has changed, unless explicitly allowed', async () => {
    await runner().migrate();
    const path = join(dir, '0002_2fa.ts');
    writeFileSync(path, readFileSync(path, 'utf8') + '\n// edited after release\n');
    await expect(runner().migrate()).rejects.toThrow(/changed since they ran: 2fa/);
    expect((await runner().status()).find((s) => s.name === '2fa')?.state).toBe('changed');
    expect((await runner().verify()).ok).toBe(false);
    const allowed = await runner({ allowChanged: true }).migrate();
    expect(allowed.ok).toBe(true);
    expect((await runner().status()).find((s) => s.name === '2fa')?.state).toBe('applied');
  });

  it('dry run prints the SQL and changes nothing', async () => {
    const report = await runner().migrate({ dryRun: true });
    expect(report.ok).toBe(true);
    expect(report.results.find((r) => r.name === '2fa')?.sql?.join('\n')).toMatch(/create table "two_factor_auth"/);
    expect(await open.adapter.columnsOf(open.db, 'users')).toBeNull();
    expect(await open.adapter.columnsOf(open.db, 'crew_migrations')).toBeNull();
    expect(await open.adapter.columnsOf(open.db, 'crew_migration_lock')).toBeNull();
  });

  it('applies one migration by name only when the earlier ones are applied', async () => {
    await expect(runner().migrate({ target: '2fa' })).rejects.toThrow(/earlier migration\(s\) users are not applied/);
    await expect(runner().migrate({ target: 'nope' })).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('Known migrations: users, 2fa') });
    expect((await runner().migrate({ target: 'users' })).results.map((r) => r.name)).toEqual(['users']);
    expect((await runner().migrate({ target: '2fa' })).results.map((r) => r.name)).toEqual(['2fa']);
  });

  it('rolls back a migration after a backup, refusing while later migrations depend on it', async () => {
    await runner().migrate();
    await expect(runner().rollback('users')).rejects.toThrow(/2fa, sessions, security_events, adopt_flask_users.* depend on it/);
    await expect(runner().rollback('2fa')).rejects.toThrow(/2fa_replay_and_lockout, encrypt_legacy_secrets, adopt_flask_users depend on it/);
    const report = await runner().rollback('2fa_replay_and_lockout');
    expect(report.ok).toBe(true);
    expect(await open.adapter.columnsOf(open.db, 'two_factor_auth')).toEqual(GUIDE_COLUMNS);
    // Both engines back up before a rollback (PostgreSQL with pg_dump), into the folder they were given.
    expect(report.backupPath).toMatch(kind === 'sqlite' ? /backups\/production_crew-\d{8}T\d{9}Z\.db$/ : /backups\/postgres-crew_t_\w+-\d{8}T\d{9}Z\.sql$/);
    expect(report.backupPath!.startsWith(join(test.dir, 'backups'))).toBe(true);
    expect(existsSync(report.backupPath!)).toBe(true);
    expect((await runner().status()).find((s) => s.name === '2fa_replay_and_lockout')?.state).toBe('pending');
    expect((await runner().migrate()).ok).toBe(true);
  });

  it('names a migration file that fails to import, and runs nothing from it', async () => {
    writeFileSync(join(dir, '0900_broken.ts'), 'export const expects = {};\nthis is not javascript\n');
    const report = await runner().migrate();
    expect(report.ok).toBe(false);
    const failed = report.results.find((r) => r.status === 'failed');
    expect(failed).toMatchObject({ name: 'broken', status: 'failed' });
    expect(failed?.error).toMatch(/0900_broken failed to import/);
  });

  it('refuses a damaged bookkeeping table and changes nothing', async () => {
    await runner().migrate({ target: 'users' });
    await sql`UPDATE crew_migrations SET checksum = 'garbage'`.execute(open.db);
    await expect(runner().migrate()).rejects.toThrow(/crew_migrations is damaged: 0001_users: checksum is not a SHA-256/);
    expect(await open.adapter.columnsOf(open.db, 'two_factor_auth')).toBeNull();
  });
});

describe('SQLite specifics', () => {
  let test: TestDatabase;
  let open: OpenDatabase;
  let dir: string;
  beforeEach(async () => {
    test = await createTestDatabase('sqlite');
    open = await openDatabase(test.config);
    dir = scratchMigrationsDir();
  });
  afterEach(async () => {
    await open.close();
    await test.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rebuilds a table with foreign keys off outside the transaction, so child rows survive', async () => {
    await new MigrationRunner(open, { migrationsDir: dir, backup: false }).migrate();
    await sql`INSERT INTO users (username, password_hash) VALUES ('ada', 'h')`.execute(open.db);
    await sql`INSERT INTO two_factor_auth (user_id, secret) VALUES (1, 's')`.execute(open.db);
    // SQLite's 12-step procedure: new table, copy, drop old, rename. With foreign keys on,
    // DROP TABLE users would cascade and delete the two_factor_auth row.
    writeFileSync(
      join(dir, '0900_rebuild_users.ts'),
      `import { sql } from 'kysely';
export const rebuildsTables = true;
export const expects = { users: { id: 'required', username: 'required', nickname: 'required' } };
export async function up(db) {
  await sql\`CREATE TABLE users_new (id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT NOT NULL UNIQUE, email TEXT, password_hash TEXT NOT NULL, role TEXT NOT NULL DEFAULT 'user', created_at TIMESTAMP, updated_at TIMESTAMP, nickname TEXT)\`.execute(db);
  await sql\`INSERT INTO users_new (id, username, email, password_hash, role, created_at, updated_at) SELECT id, username, email, password_hash, role, created_at, updated_at FROM users\`.execute(db);
  await sql\`DROP TABLE users\`.execute(db);
  await sql\`ALTER TABLE users_new RENAME TO users\`.execute(db);
}
export async function down() {}
`,
    );
    const backups = join(test.dir, 'backups');
    const report = await new MigrationRunner(open, { migrationsDir: dir, backup: { keep: 2 } }).migrate();
    expect(report.ok).toBe(true);
    const rows = await sql<{ n: number }>`SELECT count(*) AS n FROM two_factor_auth`.execute(open.db);
    expect(Number(rows.rows[0]!.n)).toBe(1);
    expect((await sql<{ foreign_keys: number }>`PRAGMA foreign_keys`.execute(open.db)).rows[0]?.foreign_keys).toBe(1);
    expect(readdirSync(backups)).toHaveLength(1);
  });

  it('fails a rebuild that leaves dangling references, and rolls it back', async () => {
    await new MigrationRunner(open, { migrationsDir: dir, backup: false }).migrate();
    await sql`INSERT INTO users (username, password_hash) VALUES ('ada', 'h')`.execute(open.db);
    await sql`INSERT INTO two_factor_auth (user_id, secret) VALUES (1, 's')`.execute(open.db);
    writeFileSync(
      join(dir, '0900_bad_rebuild.ts'),
      `import { sql } from 'kysely';
export const rebuildsTables = true;
export const expects = {};
export async function up(db) { await sql\`DELETE FROM users\`.execute(db); }
export async function down() {}
`,
    );
    const report = await new MigrationRunner(open, { migrationsDir: dir, backup: false }).migrate();
    expect(report.ok).toBe(false);
    expect(report.results.at(-1)?.error).toMatch(/foreign_key_check found 1 violation/);
    const users = await sql<{ n: number }>`SELECT count(*) AS n FROM users`.execute(open.db);
    expect(Number(users.rows[0]!.n)).toBe(1);
  });

  it('keeps only the newest N automatic backups', async () => {
    await new MigrationRunner(open, { migrationsDir: dir, backup: false }).migrate({ target: 'users' });
    for (const [i, name] of ['2fa', 'sessions', 'security_events', '2fa_replay_and_lockout', 'encrypt_legacy_secrets'].entries()) {
      await new MigrationRunner(open, { migrationsDir: dir, backup: { keep: 2 }, now: () => new Date(Date.UTC(2026, 0, 1, 0, 0, i)) }).migrate({ target: name });
    }
    const files = readdirSync(join(test.dir, 'backups')).sort();
    expect(files).toEqual(['production_crew-20260101T000003000Z.db', 'production_crew-20260101T000004000Z.db']);
  });
});
