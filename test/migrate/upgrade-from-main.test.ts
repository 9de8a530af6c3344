import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checksumOf } from '../../src/migrate/discover.ts';
import { ROOT, runCrew, SPAWN_TEST_TIMEOUT_MS } from '../helpers/run-crew.ts';
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
    // 0001–0006 shipped with 0.1.0 and are applied, their checksums unchanged; anything newer is pending.
    expect(rows.map((r) => [r.id, r.state])).toEqual(files.map((f) => [f.replace(/\.ts$/, ''), /^000[1-6]_/.test(f) ? 'applied' : 'pending']));
    const run = await crew(['migrate']);
    expect(run.code, run.stderr).toBe(0);
    const second = await crew(['migrate']);
    expect(second.stdout).toContain(`All ${files.length} migration(s) are already applied; nothing to do.`);
    const verify = await crew(['db', 'verify', '--json']);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, applied: files.length, problems: [] });
    expect(JSON.parse((await crew(['users', 'list', '--json'])).stdout).users).toEqual([expect.objectContaining({ id: 1, username: 'ada' })]);
  });

  it('stored each checksum as the SHA-256 of the released .ts source, which this code still computes', () => {
    const dump = readFileSync(join(FIXTURES, `main-0.1.0.${kind}.sql`), 'utf8');
    for (const file of readdirSync(join(ROOT, 'src', 'migrations')).filter((f) => /^000[1-6]_/.test(f))) {
      expect(dump, file).toContain(checksumOf(readFileSync(join(ROOT, 'src', 'migrations', file), 'utf8')));
    }
  });
});
