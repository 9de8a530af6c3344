import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCrew, spawnCrew, SPAWN_TEST_TIMEOUT_MS } from '../helpers/run-crew.ts';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';

// Issue 11, reproduced with the real processes: `crew serve` running, then `crew migrate sessions --rollback`.
// Threat: tables dropped under live requests (every sign-in answered 500). The running server's heartbeat row
// makes the rollback refuse, before any question, naming the server; after a clean shutdown it goes through.

describe.each(TEST_DIALECTS)('rolling back while `crew serve` runs, on %s', { timeout: SPAWN_TEST_TIMEOUT_MS }, (kind) => {
  let test: TestDatabase;
  beforeEach(async () => {
    test = await createTestDatabase(kind);
  });
  afterEach(async () => {
    await test.cleanup();
  });
  const env = () => ({ DATABASE_URL: test.url, CREW_ENCRYPTION_KEY: Buffer.alloc(32, 4).toString('base64'), PORT: '0' });

  it('is refused naming the server, allowed with --force, and allowed once the server stopped', async () => {
    const server = spawnCrew(['serve'], { env: env(), cwd: test.dir });
    let out = '';
    server.stdout!.on('data', (d) => (out += d));
    server.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => server.on('close', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        server.stdout!.on('data', () => out.includes('is listening on') && resolve());
        void exited.then(() => reject(new Error(`crew serve exited: ${out}`)));
      });
      const refused = await runCrew(['migrate', 'sessions', '--rollback', '--yes'], { env: env(), cwd: test.dir });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`refusing to roll back sessions: 1 crew server(s) are using this database (host ${hostname()}, pid ${server.pid}, started `);
      expect(refused.stderr).toContain('Stop them first, or pass --force if you are sure.');
      expect(refused.stdout).not.toContain('WARNING'); // refused before asking anything
      const list = JSON.parse((await runCrew(['migrate', '--list', '--json'], { env: env(), cwd: test.dir })).stdout);
      expect(list.migrations.find((m: { name: string }) => m.name === 'sessions').state).toBe('applied');
      const forced = await runCrew(['migrate', 'encrypt_legacy_secrets', '--rollback', '--yes', '--force'], { env: env(), cwd: test.dir });
      expect(forced.code, forced.stdout + forced.stderr).toBe(0);
      expect(forced.stdout).toContain('! rolling back while 1 crew server(s) use this database (--force)');
    } finally {
      server.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    // The clean shutdown removed the row: no --force needed now.
    const done = await runCrew(['migrate', 'sessions', '--rollback', '--yes'], { env: env(), cwd: test.dir });
    expect(done.code, done.stdout + done.stderr).toBe(0);
  });
});
