import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../lib/package-root.ts';
import type { MigrationFile } from './migration.ts';

/** A migration file name: four or more digits, an underscore, then the name users type. */
export const MIGRATION_FILE_PATTERN = /^(\d{4,})_([a-z0-9][a-z0-9_-]*)\.(ts|js|mjs)$/;

/** The project's migration folder: src/migrations (TypeScript source, compiled file by file by esbuild when run). */
export function defaultMigrationsDir(): string {
  return join(packageRoot(), 'src', 'migrations');
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
 * Finds the migration files in a folder, ordered by their numeric prefix.
 * @example discoverMigrations('src/migrations') // [{ id: '0001_users', name: 'users', … }, …]
 */
export function discoverMigrations(dir: string = defaultMigrationsDir()): MigrationFile[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (error) {
    throw new MigrationDiscoveryError(`cannot read the migrations folder ${dir}: ${(error as Error).message}`, { cause: error });
  }
  const files: MigrationFile[] = [];
  for (const entry of entries.sort()) {
    if (entry.endsWith('.d.ts') || entry.endsWith('.test.ts') || entry.endsWith('.map')) continue;
    const match = MIGRATION_FILE_PATTERN.exec(entry);
    if (!match) continue;
    const path = join(dir, entry);
    files.push({
      id: entry.replace(/\.(ts|js|mjs)$/, ''),
      name: match[2]!,
      order: Number(match[1]),
      path,
      checksum: checksumOf(readFileSync(path, 'utf8')),
    });
  }
  files.sort((a, b) => a.order - b.order);
  for (let i = 1; i < files.length; i++) {
    const [prev, cur] = [files[i - 1]!, files[i]!];
    if (prev.order === cur.order) throw new MigrationDiscoveryError(`two migrations share the number ${cur.order}: ${prev.id} and ${cur.id}`);
  }
  const byName = new Map<string, string>();
  for (const f of files) {
    const other = byName.get(f.name);
    if (other) throw new MigrationDiscoveryError(`two migrations share the name "${f.name}": ${other} and ${f.id}`);
    byName.set(f.name, f.id);
  }
  return files;
}
