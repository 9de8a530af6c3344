// Compiles src/ to dist/ with the native TypeScript compiler so that `crew` starts
// from plain JavaScript. Runs on `npm ci` (postinstall) and `npm run build`.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, cpSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules', '.bin', 'tsc');
if (!existsSync(tsc) || !existsSync(join(root, 'src'))) {
  console.log('build: skipped (TypeScript or src/ not present yet)');
  process.exit(0);
}
rmSync(join(root, 'dist'), { recursive: true, force: true });
const result = spawnSync(tsc, ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
// Non-TypeScript assets (templates, CSS) are copied beside the compiled code.
for (const dir of ['http/views', 'http/public']) {
  const from = join(root, 'src', dir);
  if (existsSync(from)) cpSync(from, join(root, 'dist', dir), { recursive: true, filter: (p) => !p.endsWith('.ts') });
}
