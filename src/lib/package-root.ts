import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null = null;

/**
 * The folder holding this project's package.json, found by walking up from this module, so that
 * source-relative assets (migrations, templates, CSS) resolve the same from src/ (tsx) and from the
 * bundled dist/ build.
 */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'production-crew-2fa') {
      cached = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the production-crew-2fa package root above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}
