// Builds the `crew` CLI into dist/: one ESM bundle (plus lazily loaded chunks, e.g. the web server)
// made by esbuild, so start-up does not resolve hundreds of module files. Type-checking is `tsc`'s
// job (`npm run typecheck`, part of `npm test`). Runs on `npm ci` (postinstall) and `npm run build`.
// Templates and CSS are read from src/ at run time (see src/lib/package-root.ts); migrations are read
// from src/migrations too and compiled one file at a time by esbuild when they run (a runtime
// dependency; src/migrate/load-migration.ts), so their checksums stay over the .ts source.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'node_modules', 'esbuild')) || !existsSync(join(root, 'src', 'cli', 'bin.ts'))) {
  console.log('build: skipped (esbuild or src/ not present yet)');
  process.exit(0);
}
const { build } = await import('esbuild');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// Bundle the pure-JS libraries whose many small files dominate start-up; leave native addons,
// esbuild (a binary) and libraries that locate files or workers at run time (fastify, pino) external.
const BUNDLED = new Set(['kysely', 'commander']);
const external = Object.keys(pkg.dependencies ?? {}).filter((d) => !BUNDLED.has(d)).flatMap((d) => [d, `${d}/*`]);
rmSync(join(root, 'dist'), { recursive: true, force: true });
await build({
  entryPoints: { 'cli/bin': join(root, 'src', 'cli', 'bin.ts') },
  outdir: join(root, 'dist'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  external,
  banner: { js: "import { createRequire as __crewCreateRequire } from 'node:module'; const require = __crewCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
console.log('build: dist/cli/bin.js');
