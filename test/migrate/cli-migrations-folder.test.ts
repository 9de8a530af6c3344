import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATION_NAMES } from '../helpers/migration-names.ts';
import { runCrew, scratchMigrationsDir, SPAWN_TEST_TIMEOUT_MS } from '../helpers/run-crew.ts';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';

// The shipped CLI (dist/) loading migrations from a folder outside crew with no package.json: each file is
// compiled by esbuild on its own; no TypeScript loader hook is installed in the process.

const PROBE_TS = `import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Kysely } from 'kysely';
import type { MigrationContext } from 'production-crew-2fa';

export const expects = {};

export async function up(_db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  // With a global TypeScript hook (tsx's register()) this import would succeed; without one Node refuses .ts.
  const outcome = await import(pathToFileURL(join(import.meta.dirname, 'data.ts')).href).then(() => 'imported', (e: { code?: string }) => e.code);
  ctx.report(\`.ts import from a migration: \${outcome}\`);
  ctx.report(\`file beside the migration: \${readFileSync(new URL('./data.ts', import.meta.url), 'utf8').trim()}\`);
}

export async function down(): Promise<void> {}
`;

describe.each(TEST_DIALECTS)('crew migrate with a migrations folder outside crew on %s', { timeout: SPAWN_TEST_TIMEOUT_MS }, (kind) => {
  let test: TestDatabase;
  let dir: string;
  beforeEach(async () => {
    test = await createTestDatabase(kind);
    dir = scratchMigrationsDir();
  });
  afterEach(async () => {
    await test.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  const crew = (args: string[]) => runCrew(args, { env: { DATABASE_URL: test.url, CREW_MIGRATIONS_DIR: dir, CREW_ENCRYPTION_KEY: Buffer.alloc(32, 5).toString('base64') }, cwd: test.dir });

  it('runs a TypeScript migration there without installing a global loader hook', async () => {
    writeFileSync(join(dir, '0900_probe.ts'), PROBE_TS);
    writeFileSync(join(dir, 'data.ts'), "export const answer: number = 42;\n");
    const run = await crew(['migrate']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('.ts import from a migration: ERR_UNKNOWN_FILE_EXTENSION');
    expect(run.stdout).toContain('file beside the migration: export const answer: number = 42;');
    expect(run.stdout).toContain(`Total: ${MIGRATION_NAMES.length + 1} successful, 0 failed`);
  });

  it('names a file that fails to load, with the cause and what to do, and applies nothing from it', async () => {
    writeFileSync(join(dir, '0900_broken.ts'), 'export const expects = {};\nexport async function up( {\n');
    const run = await crew(['migrate']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`✗ broken failed: migration 0900_broken failed to import \\(${dir}/0900_broken\\.ts\\): line 3:0: .+\\. Fix the file, then run \`crew migrate\` again\\.`));
    expect(run.stdout).toContain(`Total: ${MIGRATION_NAMES.length} successful, 1 failed`);
    const list = JSON.parse((await crew(['migrate', '--list', '--json'])).stdout);
    expect(list.migrations.find((m: { name: string }) => m.name === 'broken').state).toBe('pending');
  });
});
