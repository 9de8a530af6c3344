import { isBuiltin } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';
import type { MigrationFile, MigrationModule } from './migration.ts';
import { loadSqlMigration } from './sql-migration.ts';

/** A migration file that cannot be compiled or imported, or does not export what the runner needs. */
export class MigrationLoadError extends Error {
  override name = 'MigrationLoadError';
}

/** Packages crew provides to every migration from its own installation, so a migrations folder needs no install. */
const PROVIDED_PACKAGE = /^kysely(\/|$)/;

/**
 * Bare imports stay imports (never bundled): `kysely` resolves to crew's own copy; any other package resolves
 * from the migration's folder, as Node would. Both become absolute file URLs, which work from a data: URL.
 */
const resolvePackages: Plugin = {
  name: 'crew-migration-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === 'inner' || isBuiltin(args.path)) return undefined;
      if (PROVIDED_PACKAGE.test(args.path)) return { path: import.meta.resolve(args.path), external: true };
      const found = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'inner' });
      if (found.errors.length > 0) return { errors: found.errors };
      return { path: pathToFileURL(found.path).href, external: true };
    });
  },
};

/**
 * Compiles one migration file (TypeScript or JavaScript) to a single ES module text with esbuild: types are
 * erased (`import type` from kysely or crew needs nothing installed), relative imports are bundled in.
 * No loader hook is installed in the process, unlike registering tsx.
 */
export async function compileMigration(path: string): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [path],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // The migration's folder may hold any tsconfig.json (or none): compile every file the same way.
    tsconfigRaw: {},
    logLevel: 'silent',
    // The module runs from a data: URL; a migration that reads a file beside itself still finds it.
    define: {
      'import.meta.url': JSON.stringify(pathToFileURL(path).href),
      'import.meta.filename': JSON.stringify(path),
      'import.meta.dirname': JSON.stringify(dirname(path)),
    },
    plugins: [resolvePackages],
  });
  return result.outputFiles[0]!.text;
}

/**
 * Imported migration modules by path and checksum. Node keeps every imported module for the life of the
 * process anyway (the same data: URL is the same module); this only spares compiling an unchanged file again
 * when one process runs several operations (`crew serve` after migrating, the tests, the benchmarks).
 */
const imported = new Map<string, Promise<Record<string, unknown>>>();

function importCompiled(file: MigrationFile): Promise<Record<string, unknown>> {
  const key = `${file.path}\0${file.checksum}`;
  let mod = imported.get(key);
  if (!mod) {
    mod = compileMigration(file.path).then((code) => import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`) as Promise<Record<string, unknown>>);
    mod.catch(() => imported.delete(key));
    imported.set(key, mod);
  }
  return mod;
}

/** The cause of a failed load in one line, and what to do about it. */
function explain(error: unknown): string {
  const failures = (error as { errors?: Array<{ text: string; location?: { line: number; column: number } | null }> }).errors;
  const first = failures?.[0];
  if (error instanceof Error && error.name === 'SqlMigrationError') return `${error.message.replace(/\.$/, '')}. Fix the file, then run \`crew migrate\` again.`;
  if (first) {
    const where = first.location ? `line ${first.location.line}:${first.location.column}: ` : '';
    const text = first.text.replace(/\.$/, '');
    if (text.startsWith('Could not resolve')) return `${where}${text}. Install the package where the file can find it, or use what crew passes in (db, ctx); crew provides "kysely".`;
    return `${where}${text}. Fix the file, then run \`crew migrate\` again.`;
  }
  const message = (error instanceof Error ? error.message.split('\n')[0]! : String(error)).replace(/\.$/, '');
  return `${message}. Fix the file, then run \`crew migrate\` again.`;
}

/**
 * Compiles and imports a migration file and checks that it exports `up`, `down` and `expects`;
 * throws MigrationLoadError naming the file, the cause in one line, and what to do.
 */
export async function loadMigration(file: MigrationFile): Promise<MigrationModule> {
  let mod: Record<string, unknown>;
  try {
    if (file.path.endsWith('.sql')) return loadSqlMigration(file);
    mod = await importCompiled(file);
  } catch (error) {
    throw new MigrationLoadError(`migration ${file.id} failed to import (${file.path}): ${explain(error)}`, { cause: error });
  }
  const missing = ['up', 'down'].filter((k) => typeof mod[k] !== 'function');
  if (typeof mod.expects !== 'object' || mod.expects === null) missing.push('expects');
  if (missing.length > 0) {
    throw new MigrationLoadError(`migration ${file.id} (${file.path}) does not export ${missing.join(', ')}: a migration exports up(db, ctx), down(db, ctx) and expects (see docs/MIGRATION_GUIDE.md)`);
  }
  if (mod.creates !== undefined && !Array.isArray(mod.creates)) throw new MigrationLoadError(`migration ${file.id} (${file.path}): "creates" must be an array of table names`);
  return mod as unknown as MigrationModule;
}
