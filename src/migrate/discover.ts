import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config.ts';
import { packageRoot } from '../lib/package-root.ts';
import type { MigrationFile, MigrationSource } from './migration.ts';

/**
 * A migration file name: four or more digits, an underscore, the name users type, then the format. Plain SQL may
 * be written once per engine (`0003_name.sqlite.sql` beside `0003_name.postgres.sql`): both are one migration.
 */
export const MIGRATION_FILE_PATTERN = /^(\d{4,})_([a-z0-9][a-z0-9_-]*)(?:\.(sqlite|postgres))?\.(ts|js|mjs|sql)$/;

/** crew's own migrations: src/migrations inside crew's package (TypeScript source, compiled file by file by esbuild when run). */
export function defaultMigrationsDir(): string {
  return join(packageRoot(), 'src', 'migrations');
}

/** The app's own migrations when CREW_MIGRATIONS_DIR is not set: `./migrations` in the working folder. */
export function defaultAppMigrationsDir(cwd: string = process.cwd()): string {
  return resolve(cwd, 'migrations');
}

/** The app's own migrations folder: CREW_MIGRATIONS_DIR, else `./migrations` in the working folder (which may not exist). */
export function appMigrationsDirFor(config: Config): { dir: string; optional: boolean } {
  return config.migrationsDir ? { dir: config.migrationsDir, optional: false } : { dir: defaultAppMigrationsDir(), optional: true };
}

/** A migration folder that cannot be read or holds conflicting files. */
export class MigrationDiscoveryError extends Error {
  override name = 'MigrationDiscoveryError';
}

/** SHA-256 of a migration file's text, with CRLF normalised so a checkout on Windows keeps the same sum. */
export function checksumOf(text: string): string {
  return createHash('sha256').update(text.replace(/\r\n/g, '\n')).digest('hex');
}

/**
 * Finds the migration files in a folder, ordered by their numeric prefix, each marked with `source`.
 * `optional`: a missing folder holds no migrations (the app's default `./migrations`), instead of an error.
 * @example discoverMigrations('src/migrations') // [{ id: '0001_users', name: 'users', source: 'crew', … }, …]
 */
export function discoverMigrations(dir: string = defaultMigrationsDir(), source: MigrationSource = 'crew', options: { optional?: boolean } = {}): MigrationFile[] {
  if (options.optional && !existsSync(dir)) return [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (error) {
    throw new MigrationDiscoveryError(`cannot read the migrations folder ${dir}: ${(error as Error).message}`, { cause: error });
  }
  const files: MigrationFile[] = [];
  const perEngine = new Map<string, MigrationFile>();
  for (const entry of entries.sort()) {
    if (entry.endsWith('.d.ts') || entry.endsWith('.test.ts') || entry.endsWith('.map')) continue;
    const match = MIGRATION_FILE_PATTERN.exec(entry);
    if (!match) continue;
    const [, number, name, engine, format] = match;
    if (engine && format !== 'sql') continue; // `.sqlite.ts` is not a migration format: only SQL is written per engine
    const path = join(dir, entry);
    const text = readFileSync(path, 'utf8');
    const id = `${number}_${name}`;
    if (engine) {
      // Both engines' files are one migration: one id, one row, a checksum over both texts (editing either is seen).
      const seen = perEngine.get(id);
      if (seen) {
        seen.variants = { ...seen.variants, [engine]: path };
        seen.checksum = checksumOf(`${seen.checksum}\n${checksumOf(text)}`);
        continue;
      }
      const file: MigrationFile = { id, name: name!, order: Number(number), path, checksum: checksumOf(text), source, variants: { [engine]: path } };
      perEngine.set(id, file);
      files.push(file);
      continue;
    }
    files.push({ id, name: name!, order: Number(number), path, checksum: checksumOf(text), source });
  }
  files.sort((a, b) => a.order - b.order);
  for (let i = 1; i < files.length; i++) {
    const [prev, cur] = [files[i - 1]!, files[i]!];
    if (prev.order === cur.order) throw new MigrationDiscoveryError(`two migrations share the number ${cur.order}: ${prev.path} and ${cur.path}`);
  }
  const byName = new Map<string, MigrationFile>();
  for (const f of files) {
    const other = byName.get(f.name);
    if (other) throw new MigrationDiscoveryError(`two migrations share the name "${f.name}": ${other.path} and ${f.path}`);
    byName.set(f.name, f);
  }
  return files;
}

/**
 * Both sources in run order: crew's built-ins first, then the app's own (which may rely on crew's tables). Names
 * are what users type and ids are the bookkeeping keys, so a name in both is refused, naming both files.
 */
export function discoverAll(dirs: { builtinsDir?: string; appDir: string | null; appDirOptional?: boolean }): MigrationFile[] {
  const builtins = discoverMigrations(dirs.builtinsDir ?? defaultMigrationsDir(), 'crew');
  const app = dirs.appDir === null ? [] : discoverMigrations(dirs.appDir, 'app', { optional: dirs.appDirOptional ?? false });
  for (const f of app) {
    const clash = builtins.find((b) => b.name === f.name);
    if (clash) {
      throw new MigrationDiscoveryError(`the migration name "${f.name}" is used twice: ${clash.path} (crew) and ${f.path} (yours). Names must be unique across both: rename yours.`);
    }
  }
  return [...builtins, ...app];
}
