import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');

/** Backups that tests' throw-away PostgreSQL databases (`crew_t_…`) or SQLite files left in the checkout. */
function strayTestBackups(): string[] {
  const dir = join(root, 'backups');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((name) => /^postgres-crew_t_|^production_crew-.*\.db$/.test(name));
}

/**
 * Vitest global set-up: CLI tests run the shipped `dist/cli/bin.js`, so build it first (esbuild, about a
 * second). `npm test` builds just before vitest and says so with CREW_DIST_BUILT=1.
 * Teardown: fails the run if tests left backups in the working tree (issue 11): each test writes them under its
 * own temporary folder (a `dir`/`cwd` of the test database), never into `./backups`.
 */
export default function buildDist(): () => void {
  const before = new Set(strayTestBackups());
  if (process.env.CREW_DIST_BUILT !== '1') {
    const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`building dist/ failed (the CLI tests run dist/cli/bin.js):\n${build.stdout}${build.stderr}`);
  }
  return () => {
    const left = strayTestBackups().filter((name) => !before.has(name));
    if (left.length === 0) return;
    // A throw here is only printed by vitest; the exit code makes the run fail.
    process.stderr.write(`\nError: tests left backups in ${join(root, 'backups')}: ${left.join(', ')} (write them under the test's temporary folder)\n`);
    process.exitCode = 1;
  };
}
