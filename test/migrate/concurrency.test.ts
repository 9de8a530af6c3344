import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCrew, scratchMigrationsDir, spawnCrew } from '../helpers/run-crew.ts';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';

// A migration that creates a table, then (when asked) sits inside its transaction for a while,
// so a test can kill the runner mid-migration.
const SLOW_MIGRATION = `import { sql } from 'kysely';
export const creates = ['slow_things'];
export const expects = { slow_things: { id: 'required' } };
export async function up(db) {
  await db.schema.createTable('slow_things').addColumn('id', 'integer', (c) => c.primaryKey()).execute();
  await sql\`INSERT INTO slow_things (id) VALUES (1)\`.execute(db);
  const ms = Number(process.env.CREW_TEST_SLOW_MS ?? 0);
  if (ms > 0) { console.log('slow migration is inside its transaction'); await new Promise((r) => setTimeout(r, ms)); }
}
export async function down(db) { await db.schema.dropTable('slow_things').execute(); }
`;

describe.each(TEST_DIALECTS)('one runner at a time on %s', (kind) => {
  let test: TestDatabase;
  let dir: string;
  beforeEach(async () => {
    test = await createTestDatabase(kind);
    dir = scratchMigrationsDir();
    writeFileSync(join(dir, '0007_slow.ts'), SLOW_MIGRATION);
  });
  afterEach(async () => {
    await test.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const env = (extra: Record<string, string> = {}) => ({ DATABASE_URL: test.url, CREW_MIGRATIONS_DIR: dir, CREW_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'), ...extra });

  it('8 runners started together apply every migration exactly once and all exit 0', async () => {
    const runs = await Promise.all(Array.from({ length: 8 }, () => runCrew(['migrate', '--json'], { env: env({ CREW_TEST_SLOW_MS: '300' }) })));
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const reports = runs.map((r) => JSON.parse(r.stdout.slice(r.stdout.indexOf('{\n'))));
    const applied = reports.flatMap((r: { results: Array<{ name: string; status: string }> }) => r.results.filter((x) => x.status === 'applied').map((x) => x.name));
    expect(applied.sort()).toEqual(['2fa', '2fa_replay_and_lockout', 'encrypt_legacy_secrets', 'security_events', 'sessions', 'slow', 'users']);
    const list = JSON.parse((await runCrew(['migrate', '--list', '--json'], { env: env() })).stdout);
    expect(list.migrations).toHaveLength(7);
    expect(list.migrations.every((m: { state: string }) => m.state === 'applied')).toBe(true);
  });

  it('after kill -9 of a runner mid-migration, nothing half-done remains and a re-run completes', async () => {
    const child = spawnCrew(['migrate'], { env: env({ CREW_TEST_SLOW_MS: '60000' }) });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the slow migration never started: ${out}`)), 30_000);
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('slow migration is inside its transaction')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    const list = JSON.parse((await runCrew(['migrate', '--list', '--json'], { env: env() })).stdout);
    expect(list.migrations.find((m: { name: string }) => m.name === 'slow').state).toBe('pending');
    const rerun = await runCrew(['migrate'], { env: env() });
    expect(rerun.code, rerun.stderr).toBe(0);
    if (kind === 'sqlite') expect(rerun.stdout).toMatch(/recovered a migration lock left by a runner that died \(pid \d+/);
    expect(rerun.stdout).toContain('✓ slow');
    expect(rerun.stdout).toContain('Total: 1 successful, 0 failed');
  });
});
