import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './run-crew.ts';

/**
 * The names of the project's migrations in run order (`0009_passkeys.ts` → `passkeys`), read from src/migrations, so a
 * test of "every migration" does not have to be edited each time one is added.
 */
export const MIGRATION_NAMES: readonly string[] = readdirSync(join(ROOT, 'src', 'migrations'))
  .filter((f) => /^\d{4}_.+\.ts$/.test(f))
  .sort()
  .map((f) => f.replace(/^\d{4}_/, '').replace(/\.ts$/, ''));
