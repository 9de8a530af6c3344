import { readFileSync } from 'node:fs';
import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../db/engine-adapter.ts';
import type { Expectations, MigrationContext, MigrationFile, MigrationModule } from './migration.ts';

// Plain-SQL migrations, in dbmate's layout so such files are familiar and portable:
//
//   -- migrate:up            (or `-- migrate:up sqlite` / `-- migrate:up postgres` for one engine)
//   ALTER TABLE users ADD COLUMN phone TEXT;
//   -- migrate:down
//   ALTER TABLE users DROP COLUMN phone;
//
// plus optional header lines `-- expects: users.phone` (checked by `crew db verify`) and `-- creates: notes`.
// Statements run one by one inside the runner's transaction, so dbmate's `transaction:false` is refused.

/** A plain-SQL file that does not follow the layout; the message says what to write instead. */
export class SqlMigrationError extends Error {
  override name = 'SqlMigrationError';
}

/** One file's sections: up/down statements per engine (`any` = for every engine), and its declarations. */
export interface ParsedSql {
  up: Partial<Record<Dialect | 'any', string[]>>;
  down: Partial<Record<Dialect | 'any', string[]>>;
  expects: Expectations;
  creates: string[];
}

const SECTION = /^--\s*migrate:(up|down)\b(.*)$/;
const DECLARATION = /^--\s*(expects|creates):(.*)$/;

/**
 * Splits SQL text into statements at `;` outside quotes, comments and PostgreSQL dollar-quoted bodies; comment-only
 * pieces are dropped. @example splitStatements("SELECT 1; SELECT ';'") // ['SELECT 1', "SELECT ';'"]
 */
export function splitStatements(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let i = 0;
  const push = () => {
    const withoutComments = current.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '').trim();
    if (withoutComments.length > 0) out.push(current.trim());
    current = '';
  };
  while (i < text.length) {
    const c = text[i]!;
    const rest = text.slice(i);
    let end = -1;
    if (c === "'" || c === '"' || c === '`') {
      end = i + 1;
      for (;;) {
        const close = text.indexOf(c, end);
        if (close === -1) { end = text.length; break; }
        if (text[close + 1] === c) { end = close + 2; continue; } // '' inside a string
        end = close + 1;
        break;
      }
    } else if (rest.startsWith('--')) {
      const nl = text.indexOf('\n', i);
      end = nl === -1 ? text.length : nl;
    } else if (rest.startsWith('/*')) {
      const close = text.indexOf('*/', i + 2);
      end = close === -1 ? text.length : close + 2;
    } else if (c === '$') {
      const tag = /^\$[A-Za-z_]?[A-Za-z0-9_]*\$/.exec(rest)?.[0];
      if (tag) {
        const close = text.indexOf(tag, i + tag.length);
        end = close === -1 ? text.length : close + tag.length;
      }
    } else if (c === ';') {
      push();
      i++;
      continue;
    }
    if (end === -1) end = i + 1;
    current += text.slice(i, end);
    i = end;
  }
  push();
  return out;
}

/** Parses a dbmate-style file; throws SqlMigrationError (with the line) for anything it would have to guess. */
export function parseSqlMigration(text: string): ParsedSql {
  const parsed: ParsedSql = { up: {}, down: {}, expects: {}, creates: [] };
  let section: { direction: 'up' | 'down'; engine: Dialect | 'any' } | null = null;
  let body: string[] = [];
  const close = () => {
    if (!section) return;
    const list = (parsed[section.direction][section.engine] ??= []);
    list.push(...splitStatements(body.join('\n')));
    body = [];
  };
  for (const [index, line] of text.replace(/\r\n/g, '\n').split('\n').entries()) {
    const where = `line ${index + 1}`;
    const heading = SECTION.exec(line.trim());
    if (heading) {
      close();
      const options = heading[2]!.trim().split(/\s+/).filter(Boolean);
      let engine: Dialect | 'any' = 'any';
      for (const option of options) {
        if (option === 'sqlite' || option === 'postgres') engine = option;
        else if (option.startsWith('transaction:')) throw new SqlMigrationError(`${where}: "${option}" is not supported: crew runs every migration inside one transaction with its bookkeeping row`);
        else throw new SqlMigrationError(`${where}: unknown option "${option}" after migrate:${heading[1]} (write \`-- migrate:${heading[1]}\`, or add sqlite or postgres for one engine)`);
      }
      section = { direction: heading[1] as 'up' | 'down', engine };
      continue;
    }
    const declaration = DECLARATION.exec(line.trim());
    if (declaration && section === null) {
      for (const item of declaration[2]!.split(',').map((s) => s.trim()).filter(Boolean)) {
        if (declaration[1] === 'creates') {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(item)) throw new SqlMigrationError(`${where}: "${item}" is not a table name (write \`-- creates: notes\`)`);
          parsed.creates.push(item);
          (parsed.expects[item] ??= {});
        } else {
          const m = /^([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(item);
          if (!m) throw new SqlMigrationError(`${where}: "${item}" is not table.column (write \`-- expects: users.phone\`)`);
          (parsed.expects[m[1]!] ??= {})[m[2]!] = 'required';
        }
      }
      continue;
    }
    if (section) body.push(line);
    else if (line.trim() !== '' && !line.trim().startsWith('--')) {
      throw new SqlMigrationError(`${where}: SQL before the first \`-- migrate:up\` line; put the statements under \`-- migrate:up\` and their undo under \`-- migrate:down\``);
    }
  }
  close();
  if (Object.keys(parsed.up).length === 0) throw new SqlMigrationError('no `-- migrate:up` section; a SQL migration has `-- migrate:up` and `-- migrate:down` sections');
  if (Object.keys(parsed.down).length === 0) throw new SqlMigrationError('no `-- migrate:down` section: write how to undo the change (an empty section is allowed, if nothing needs undoing)');
  return parsed;
}

/** The statements for this engine: its own section, else the section for every engine; null when the file has neither. */
function statementsFor(sections: ParsedSql['up'], dialect: Dialect): string[] | null {
  return sections[dialect] ?? sections.any ?? null;
}

/** Runs statements one at a time on the runner's transaction (each engine's driver takes one statement per call). */
async function runStatements(db: Kysely<any>, statements: string[]): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

/**
 * Reads a `.sql` migration (or both engines' files) into the same module shape as a TypeScript one, so the runner
 * plans, applies, dry-runs, verifies and rolls it back the same way.
 */
export function loadSqlMigration(file: MigrationFile): MigrationModule {
  const paths = file.variants ?? { any: file.path };
  const parts = Object.entries(paths).map(([engine, path]) => ({ engine: engine as Dialect | 'any', path: path!, parsed: parseSqlMigration(readFileSync(path!, 'utf8')) }));
  const pick = (direction: 'up' | 'down', dialect: Dialect): string[] => {
    for (const part of parts) {
      if (part.engine !== 'any' && part.engine !== dialect) continue;
      const found = statementsFor(part.parsed[direction], dialect);
      if (found) return found;
    }
    throw new SqlMigrationError(`migration ${file.id} has no \`-- migrate:${direction}\` section for ${dialect} (${parts.map((p) => p.path).join(', ')}): add one, or a section without an engine`);
  };
  const expects: Expectations = {};
  for (const part of parts) for (const [table, cols] of Object.entries(part.parsed.expects)) Object.assign((expects[table] ??= {}), cols);
  const creates = [...new Set(parts.flatMap((p) => p.parsed.creates))];
  return {
    expects,
    ...(creates.length > 0 ? { creates } : {}),
    up: (db: Kysely<any>, ctx: MigrationContext) => runStatements(db, pick('up', ctx.dialect)),
    down: (db: Kysely<any>, ctx: MigrationContext) => runStatements(db, pick('down', ctx.dialect)),
  };
}
