import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DatabaseConfig } from '../../src/config.ts';
import { openDatabase, type OpenDatabase } from '../../src/db/open-database.ts';
import { MigrationRunner } from '../../src/migrate/migration-runner.ts';

/** The engines every database test runs on: PostgreSQL unless scripts/test.mjs found it unreachable. */
export const TEST_DIALECTS: Array<'sqlite' | 'postgres'> = process.env.CREW_TEST_PG_URL ? ['sqlite', 'postgres'] : ['sqlite'];

/** Admin URL of the PostgreSQL server used for throw-away test databases. */
export const PG_ADMIN_URL = process.env.CREW_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh, empty database (a temp SQLite file or a new PostgreSQL database) and how to remove it. */
export interface TestDatabase {
  kind: 'sqlite' | 'postgres';
  config: DatabaseConfig;
  /** SQLite: the temp folder holding the file; PostgreSQL: a temp folder for other files. */
  dir: string;
  /** The DATABASE_URL a child process would use. */
  url: string;
  cleanup(): Promise<void>;
}

/** Creates an empty database of the given kind. */
export async function createTestDatabase(kind: 'sqlite' | 'postgres'): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'crew-test-'));
  if (kind === 'sqlite') {
    const path = join(dir, 'production_crew.db');
    return { kind, config: { kind, path }, dir, url: path, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `crew_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    kind,
    config: { kind, url: url.toString() },
    dir,
    url: url.toString(),
    cleanup: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh database with every migration applied, opened; `cleanup` closes and removes it. */
export async function createMigratedDatabase(kind: 'sqlite' | 'postgres'): Promise<TestDatabase & { open: OpenDatabase }> {
  const test = await createTestDatabase(kind);
  const open = await openDatabase(test.config);
  const report = await new MigrationRunner(open, { backup: false }).migrate();
  if (!report.ok) throw new Error(`test database migration failed: ${report.lines.join('\n')}`);
  return {
    ...test,
    open,
    cleanup: async () => {
      await open.close();
      await test.cleanup();
    },
  };
}

/** A backup restored into a database of its own, opened read-only. */
export interface RestoredBackup {
  tables(): Promise<string[]>;
  /** The ids recorded in the restored crew_migrations. */
  appliedIds(): Promise<string[]>;
  cleanup(): Promise<void>;
}

/**
 * Restores a backup the way an operator would — a SQLite backup is a database file; a pg_dump is replayed by
 * `psql` into a new database — so tests prove a backup is usable, not just present.
 */
export async function restoreBackup(kind: 'sqlite' | 'postgres', backupPath: string): Promise<RestoredBackup> {
  let target: TestDatabase | null = null;
  let config: DatabaseConfig = { kind: 'sqlite', path: backupPath };
  if (kind === 'postgres') {
    target = await createTestDatabase('postgres');
    runSqlFile(target, backupPath);
    config = target.config;
  }
  const open = await openDatabase(config, { mustExist: true, readOnly: true });
  return {
    tables: () => open.adapter.listTables(open.db),
    appliedIds: async () => (await open.db.selectFrom('crew_migrations').select('id').orderBy('id').execute()).map((r) => r.id),
    cleanup: async () => {
      await open.close();
      await target?.cleanup();
    },
  };
}

/** Runs a SQL file (a dump) in a test database: `sqlite3`-style text through better-sqlite3, or `psql` for PostgreSQL. */
export function runSqlFile(test: Pick<TestDatabase, 'kind' | 'url'>, path: string): void {
  if (test.kind === 'sqlite') {
    const db = new BetterSqlite3(test.url);
    try {
      db.exec(readFileSync(path, 'utf8'));
    } finally {
      db.close();
    }
    return;
  }
  const psql = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', test.url, '-f', path], { encoding: 'utf8' });
  if (psql.status !== 0) throw new Error(`psql could not run ${path}: ${psql.stderr}`);
}

/**
 * Fills a fresh test database with one made by crew 0.1.0 (the code on main before the engine adapter and
 * the esbuild loader): its six migrations applied and a user `ada`, dumped from a real run of that release.
 */
export function loadCrew010Database(test: Pick<TestDatabase, 'kind' | 'url'>): void {
  runSqlFile(test, join(import.meta.dirname, '..', 'migrate', 'fixtures', `main-0.1.0.${test.kind}.sql`));
}
