import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultMigrationsDir, discoverMigrations } from '../../migrate/discover.ts';
import type { CliContext } from '../cli-command.ts';
import { UsageError } from '../cli-command.ts';

const TEMPLATE = (name: string) => `import type { Kysely } from 'kysely';
import type { Expectations, MigrationContext } from '../migrate/migration.ts';

// Migration "${name}". Once applied anywhere, never edit this file: write a new migration instead
// (the runner stores a checksum and stops on a changed file).

/** Tables this migration creates; if they all exist already, the runner verifies and adopts them. */
export const creates: string[] = [];

/** What must exist once applied (\`crew db verify\` checks it): table → column → 'required' or how to add it. */
export const expects: Expectations = {};

export async function up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  // e.g. await db.schema.createTable('things').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('label', 'text').execute();
  // Branch on ctx.dialect ('sqlite' | 'postgres') only where the engines differ (0001_users.ts does, for serial ids).
}

export async function down(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  // undo exactly what up() did
}
`;

/** `crew migrate create NAME`: writes the next NNNN_NAME.ts file from a template. */
export async function createMigration(ctx: CliContext, name: string | undefined): Promise<number> {
  if (!name) throw new UsageError('`crew migrate create` needs a name, e.g. `crew migrate create newfeature`');
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(name)) throw new UsageError(`"${name}" is not a migration name: use lower-case letters, digits and _ (starting with a letter)`);
  const dir = ctx.config().migrationsDir ?? defaultMigrationsDir();
  const files = discoverMigrations(dir);
  if (files.some((f) => f.name === name)) throw new UsageError(`a migration named "${name}" already exists`);
  const next = String((files.at(-1)?.order ?? 0) + 1).padStart(4, '0');
  const path = join(dir, `${next}_${name}.ts`);
  if (existsSync(path)) throw new UsageError(`${path} already exists`);
  writeFileSync(path, TEMPLATE(name), { flag: 'wx' });
  ctx.out.line(`✓ Created ${path}`);
  ctx.out.line('Fill in up(), down() and expects, then run `crew migrate`.');
  ctx.out.result({ created: path, id: `${next}_${name}`, name });
  return 0;
}
