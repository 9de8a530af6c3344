import type { ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATION_NAMES } from '../helpers/migration-names.ts';
import { runCrew, scratchMigrationsDir, spawnCrew, SPAWN_TEST_TIMEOUT_MS } from '../helpers/run-crew.ts';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';

// A migration that creates a table, says so, then stays inside its transaction until the file named by
// CREW_TEST_GO_FILE exists: the test decides when the runner holding the lock may finish.
const SLOW_MIGRATION = `import { existsSync } from 'node:fs';
import { sql } from 'kysely';
export const creates = ['slow_things'];
export const expects = { slow_things: { id: 'required' } };
export async function up(db) {
  await db.schema.createTable('slow_things').addColumn('id', 'integer', (c) => c.primaryKey()).execute();
  await sql\`INSERT INTO slow_things (id) VALUES (1)\`.execute(db);
  console.log('slow migration is inside its transaction');
  while (!existsSync(process.env.CREW_TEST_GO_FILE)) await new Promise((r) => setTimeout(r, 20));
}
export async function down(db) { await db.schema.dropTable('slow_things').execute(); }
`;

/** A running `crew` process whose output and exit are recorded as they happen. */
interface Watched {
  stdout: string;
  stderr: string;
  code: number | null | undefined;
  done: Promise<void>;
}

function watch(child: ChildProcess): Watched {
  const w: Watched = { stdout: '', stderr: '', code: undefined, done: Promise.resolve() };
  child.stdout!.on('data', (d) => (w.stdout += d));
  child.stderr!.on('data', (d) => (w.stderr += d));
  child.stdin!.end();
  w.done = new Promise((resolve) => child.on('close', (code) => resolve(void (w.code = code))));
  return w;
}

/** Polls `condition` until it holds; fails with `describe()` after `timeoutMs`. */
async function until(condition: () => boolean, describe: () => string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${describe()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The migrations a `crew migrate` run lists as applied in its summary. */
function summarised(stdout: string): string[] {
  const block = stdout.split('\nMigration Summary\n')[1] ?? '';
  return block.split('\n').filter((l) => l.startsWith('✓ ')).map((l) => l.slice(2));
}

describe.each(TEST_DIALECTS)('one runner at a time on %s', { timeout: SPAWN_TEST_TIMEOUT_MS }, (kind) => {
  let test: TestDatabase;
  let dir: string;
  beforeEach(async () => {
    test = await createTestDatabase(kind);
    dir = scratchMigrationsDir();
    writeFileSync(join(dir, '0900_slow.ts'), SLOW_MIGRATION);
  });
  afterEach(async () => {
    await test.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const go = () => join(test.dir, 'go');
  const env = () => ({ DATABASE_URL: test.url, CREW_MIGRATIONS_DIR: dir, CREW_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'), CREW_TEST_GO_FILE: go() });

  it('8 runners started together: 7 wait while one migrates, then every migration is applied exactly once and all exit 0', async () => {
    const runs = Array.from({ length: 8 }, () => watch(spawnCrew(['migrate'], { env: env(), cwd: test.dir })));
    const holder = () => runs.find((r) => r.stdout.includes('slow migration is inside its transaction'));
    const waiting = () => runs.filter((r) => r !== holder() && r.stdout.includes('Waiting for another migration runner ('));
    // The runners really overlap: one holds the lock inside its last migration while all 7 others wait for it.
    await until(
      () => holder() !== undefined && waiting().length === 7,
      () => runs.map((r, i) => `#${i} exit ${r.code}: ${r.stdout}${r.stderr}`).join('\n---\n'),
    );
    expect(runs.filter((r) => r.code !== undefined)).toEqual([]);
    writeFileSync(go(), '');
    await Promise.all(runs.map((r) => r.done));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(summarised(holder()!.stdout)).toEqual([...MIGRATION_NAMES, 'slow']);
    for (const r of waiting()) {
      expect(summarised(r.stdout)).toEqual([]);
      expect(r.stdout).toContain(`All ${MIGRATION_NAMES.length + 1} migration(s) are already applied; nothing to do.`);
    }
    const list = JSON.parse((await runCrew(['migrate', '--list', '--json'], { env: env(), cwd: test.dir })).stdout);
    expect(list.migrations).toHaveLength(MIGRATION_NAMES.length + 1);
    expect(list.migrations.every((m: { state: string }) => m.state === 'applied')).toBe(true);
  });

  it('after kill -9 of a runner mid-migration, nothing half-done remains and a re-run completes', async () => {
    const child = spawnCrew(['migrate'], { env: env(), cwd: test.dir });
    const run = watch(child);
    await until(() => run.stdout.includes('slow migration is inside its transaction'), () => `the slow migration never started: ${run.stdout}${run.stderr}`);
    child.kill('SIGKILL');
    await run.done;
    const list = JSON.parse((await runCrew(['migrate', '--list', '--json'], { env: env(), cwd: test.dir })).stdout);
    expect(list.migrations.find((m: { name: string }) => m.name === 'slow').state).toBe('pending');
    writeFileSync(go(), '');
    const rerun = await runCrew(['migrate'], { env: env(), cwd: test.dir });
    expect(rerun.code, rerun.stderr).toBe(0);
    if (kind === 'sqlite') expect(rerun.stdout).toMatch(/recovered a migration lock left by a runner that died \(pid \d+/);
    expect(rerun.stdout).toContain('✓ slow');
    expect(rerun.stdout).toContain('Total: 1 successful, 0 failed');
  });
});
