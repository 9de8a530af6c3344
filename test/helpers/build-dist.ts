import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

/**
 * Vitest global set-up: CLI tests run the shipped `dist/cli/bin.js`, so build it first (esbuild, about a
 * second). `npm test` builds just before vitest and says so with CREW_DIST_BUILT=1.
 */
export default function buildDist(): void {
  if (process.env.CREW_DIST_BUILT === '1') return;
  const root = resolve(import.meta.dirname, '..', '..');
  const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`building dist/ failed (the CLI tests run dist/cli/bin.js):\n${build.stdout}${build.stderr}`);
}
