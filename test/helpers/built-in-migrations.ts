import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './run-crew.ts';

/**
 * crew's own migrations in run order, read from src/migrations: tests that list "every migration" derive it from here,
 * so adding a migration (0007, 0008, 0009…) does not mean editing each such list.
 */
export const BUILT_IN_MIGRATIONS: ReadonlyArray<{ id: string; name: string }> = readdirSync(join(ROOT, 'src', 'migrations'))
  .filter((f) => /^\d{4}_.+\.ts$/.test(f))
  .sort()
  .map((f) => ({ id: f.replace(/\.ts$/, ''), name: f.replace(/^\d{4}_/, '').replace(/\.ts$/, '') }));

/** The names of {@link BUILT_IN_MIGRATIONS}, in run order. */
export const BUILT_IN_NAMES: readonly string[] = BUILT_IN_MIGRATIONS.map((m) => m.name);
