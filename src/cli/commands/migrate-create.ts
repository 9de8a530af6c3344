import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { discoverAll, discoverMigrations } from '../../migrate/discover.ts';
import { appMigrationsDirFor } from '../../migrate/runner-from-config.ts';
import type { CliContext } from '../cli-command.ts';
import { UsageError } from '../cli-command.ts';

const TS_TEMPLATE = (name: string) => `import type { Kysely } from 'kysely';
import type { Expectations, MigrationContext } from 'production-crew-2fa';

// Migration "${name}". Once applied anywhere, never edit this file: write a new migration instead
// (the runner stores a checksum and stops on a changed file). Types are erased when crew compiles this
// file, so this folder needs no package.json and no install; crew passes db and ctx (ctx.sql, ctx.dialect).

/** Tables this migration creates; if they all exist already, the runner verifies and adopts them. */
export const creates: string[] = [];

/** What must exist once applied (\`crew db verify\` checks it): table → column → 'required' or how to add it. */
export const expects: Expectations = {};

export async function up(db: Kysely<any>, { sql, dialect }: MigrationContext): Promise<void> {
  // e.g. await db.schema.createTable('things').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('label', 'text').execute();
  // Raw SQL: await sql\`UPDATE things SET label = 'x'\`.execute(db). Branch on dialect ('sqlite' | 'postgres') only where the engines differ.
}

export async function down(db: Kysely<any>, { sql, dialect }: MigrationContext): Promise<void> {
  // undo exactly what up() did
}
`;

const SQL_TEMPLATE = (name: string) => `-- Migration "${name}". Once applied anywhere, never edit this file: write a new migration instead.
-- Optional header lines, before "-- migrate:up": "-- expects: table.column" (checked by crew db verify)
-- and "-- creates: table". For one engine only, write "-- migrate:up sqlite" / "-- migrate:up postgres".
-- The statements run inside crew's transaction, one by one; never BEGIN or COMMIT here.

-- migrate:up


-- migrate:down

`;

/** Names that would read as a sub-command (`crew migrate create`, `crew migrate forget`). */
const RESERVED = new Set(['create', 'forget']);

/**
 * `crew migrate create NAME [--sql]`: writes the next NNNN_NAME.ts (or .sql) into the app's own migrations folder
 * (CREW_MIGRATIONS_DIR, else ./migrations, created if missing), never into crew's built-ins.
 */
export async function createMigration(ctx: CliContext, name: string | undefined, opts: Record<string, unknown> = {}): Promise<number> {
  if (!name) throw new UsageError('`crew migrate create` needs a name, e.g. `crew migrate create newfeature`');
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(name)) throw new UsageError(`"${name}" is not a migration name: use lower-case letters, digits and _ (starting with a letter)`);
  if (RESERVED.has(name)) throw new UsageError(`"${name}" would read as \`crew migrate ${name}\`; choose another name`);
  const { dir } = appMigrationsDirFor(ctx.config());
  mkdirSync(dir, { recursive: true });
  // Names are unique across crew's built-ins and the app's own, so both are checked.
  if (discoverAll({ appDir: dir }).some((f) => f.name === name)) throw new UsageError(`a migration named "${name}" already exists`);
  const files = discoverMigrations(dir, 'app');
  const next = String((files.at(-1)?.order ?? 0) + 1).padStart(4, '0');
  const path = join(dir, `${next}_${name}.${opts.sql ? 'sql' : 'ts'}`);
  if (existsSync(path)) throw new UsageError(`${path} already exists`);
  writeFileSync(path, opts.sql ? SQL_TEMPLATE(name) : TS_TEMPLATE(name), { flag: 'wx' });
  ctx.out.line(`✓ Created ${path}`);
  ctx.out.line(opts.sql ? 'Write its -- migrate:up and -- migrate:down sections, then run `crew migrate`.' : 'Fill in up(), down() and expects, then run `crew migrate`.');
  ctx.out.result({ created: path, id: `${next}_${name}`, name });
  return 0;
}
