import { pathToFileURL } from 'node:url';
import type { MigrationFile, MigrationModule } from './migration.ts';

/** A migration file that cannot be imported or does not export what the runner needs. */
export class MigrationLoadError extends Error {
  override name = 'MigrationLoadError';
}

let tsxRegistered: Promise<void> | null = null;

/** Compiled `crew` imports TypeScript migrations through tsx's loader, registered once on first need. */
async function ensureTypeScriptLoader(): Promise<void> {
  if (process.execArgv.some((a) => a.includes('tsx')) || process.env.VITEST) return;
  tsxRegistered ??= import('tsx/esm/api').then(({ register }) => {
    register();
  });
  await tsxRegistered;
}

/** Imports a migration file and checks that it exports `up`, `down` and `expects`. */
export async function loadMigration(file: MigrationFile): Promise<MigrationModule> {
  if (file.path.endsWith('.ts')) await ensureTypeScriptLoader();
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file.path).href)) as Record<string, unknown>;
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new MigrationLoadError(`migration ${file.id} failed to import: ${message}`, { cause: error });
  }
  const missing = ['up', 'down'].filter((k) => typeof mod[k] !== 'function');
  if (typeof mod.expects !== 'object' || mod.expects === null) missing.push('expects');
  if (missing.length > 0) throw new MigrationLoadError(`migration ${file.id} does not export ${missing.join(', ')}`);
  if (mod.creates !== undefined && !Array.isArray(mod.creates)) throw new MigrationLoadError(`migration ${file.id}: "creates" must be an array of table names`);
  return mod as unknown as MigrationModule;
}
