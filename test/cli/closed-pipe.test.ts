// A reader that stops early (`crew migrate | head -1`, a pager quit at once) closes crew's stdout. Before, the next
// write threw an unhandled EPIPE: `--list` died with a stack trace and `crew migrate` could stop between migrations.
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCrew, spawnCrew, SPAWN_TEST_TIMEOUT_MS } from '../helpers/run-crew.ts';
import { BUILT_IN_MIGRATIONS } from '../helpers/built-in-migrations.ts';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';

/** Runs crew with its stdout closed by the reader before the first line; resolves with the exit code and stderr. */
async function runWithClosedStdout(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawnCrew(args, { env });
  child.stdout!.destroy(); // the reading end goes away: every write crew makes to stdout fails with EPIPE
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stderr };
}

describe.each(TEST_DIALECTS)('crew with its stdout closed early on %s', { timeout: SPAWN_TEST_TIMEOUT_MS }, (kind) => {
  let database: TestDatabase;
  let env: Record<string, string>;
  beforeEach(async () => {
    database = await createTestDatabase(kind);
    env = { DATABASE_URL: database.url, CREW_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') };
  });
  afterEach(() => database.cleanup());

  it('crew migrate still applies every migration and exits 0, without a stack trace', async () => {
    const run = await runWithClosedStdout(['migrate'], env);
    expect(run.stderr).not.toContain('EPIPE');
    expect(run.code).toBe(0);
    const listed = await runCrew(['migrate', '--list', '--json'], { env });
    const rows = (JSON.parse(listed.stdout) as { migrations: Array<{ state: string }> }).migrations;
    expect(rows.filter((row) => row.state === 'applied')).toHaveLength(BUILT_IN_MIGRATIONS.length);
  });

  it('crew migrate --list exits 0 without a stack trace', async () => {
    expect((await runCrew(['migrate'], { env })).code).toBe(0);
    const run = await runWithClosedStdout(['migrate', '--list'], env);
    expect(run).toEqual({ code: 0, stderr: '' });
  });
});
