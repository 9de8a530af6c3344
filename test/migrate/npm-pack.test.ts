import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADD_PHONE_SQL, NOTES_TS, PINNED_MJS } from '../helpers/app-migration-fixtures.ts';
import { ROOT } from '../helpers/run-crew.ts';
import { createTestDatabase, TEST_DIALECTS } from '../helpers/test-database.ts';

// Issue 13's last check, as a user of the published package: `npm pack` crew, install the tarball into a new app
// folder, and run `npx crew migrate` there with that app's own migrations in ./migrations (no package.json in it).
//
// Pragmatic, and said plainly: the install uses the npm registry for crew's dependencies (npm's cache when it has
// them) and `--ignore-scripts`, so better-sqlite3 is not compiled again (about 70 s here) — its addon is copied
// from this checkout's build instead. crew itself ships a built dist/ (package.json "files"), so it needs no
// install script. Everything else — the tarball's contents, resolution from node_modules, `npx crew` — is real.

const INSTALL_TIMEOUT_MS = 600_000;

function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('crew packed with npm pack, installed into an app folder', { timeout: INSTALL_TIMEOUT_MS }, () => {
  const work = mkdtempSync(join(tmpdir(), 'crew-pack-'));
  const app = join(work, 'my-app');
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  beforeAll(async () => {
    const packed = await run('npm', ['pack', '--pack-destination', work], { cwd: ROOT });
    expect(packed.code, packed.stderr).toBe(0);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-app', version: '1.0.0', private: true }));
    const installed = await run('npm', ['install', '--prefer-offline', '--ignore-scripts', '--omit=dev', '--no-audit', '--no-fund', join(work, tarball)], { cwd: app });
    expect(installed.code, installed.stdout + installed.stderr).toBe(0);
    const addon = join('node_modules', 'better-sqlite3', 'build', 'Release');
    mkdirSync(join(app, addon), { recursive: true });
    copyFileSync(join(ROOT, addon, 'better_sqlite3.node'), join(app, addon, 'better_sqlite3.node'));
    mkdirSync(join(app, 'migrations'));
    writeFileSync(join(app, 'migrations', '0001_add_phone.sql'), ADD_PHONE_SQL);
    writeFileSync(join(app, 'migrations', '0002_notes.ts'), NOTES_TS);
    writeFileSync(join(app, 'migrations', '0003_pinned_notes.mjs'), PINNED_MJS);
  }, INSTALL_TIMEOUT_MS);

  it('ships the built CLI and crew’s own migrations, and no tests', () => {
    const pkg = join(app, 'node_modules', 'production-crew-2fa');
    expect(readdirSync(join(pkg, 'dist', 'cli'))).toContain('bin.js');
    expect(readdirSync(join(pkg, 'src', 'migrations')).filter((f) => f.endsWith('.ts')).length).toBeGreaterThanOrEqual(6);
    expect(readdirSync(join(pkg, 'src', 'cli', 'commands')).filter((f) => f.endsWith('.test.ts'))).toEqual([]);
  });

  it.each(TEST_DIALECTS)('`npx crew migrate` applies crew’s built-ins, then the app’s ./migrations, on %s', async (kind) => {
    const test = await createTestDatabase(kind);
    try {
      const env = { DATABASE_URL: test.url, CREW_ENCRYPTION_KEY: Buffer.alloc(32, 6).toString('base64') };
      const migrated = await run('npx', ['--offline', 'crew', 'migrate'], { cwd: app, env });
      expect(migrated.code, migrated.stdout + migrated.stderr).toBe(0);
      expect(migrated.stdout).toContain('✓ users\n✓ 2fa\n');
      expect(migrated.stdout).toContain('✓ add_phone\n✓ notes\n✓ pinned_notes\nTotal: ');
      const list = JSON.parse((await run('npx', ['--offline', 'crew', 'migrate', '--list', '--json'], { cwd: app, env })).stdout);
      expect(list.appMigrationsDir).toBe(join(app, 'migrations'));
      expect(list.migrations.filter((m: { source: string }) => m.source === 'app').map((m: { name: string; state: string }) => `${m.name}:${m.state}`)).toEqual(['add_phone:applied', 'notes:applied', 'pinned_notes:applied']);
      expect(list.migrations.filter((m: { source: string; state: string }) => m.source === 'crew' && m.state === 'applied').length).toBeGreaterThanOrEqual(6);
      const verify = await run('npx', ['--offline', 'crew', 'db', 'verify'], { cwd: app, env });
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    } finally {
      await test.cleanup();
    }
  });
});
