import type { AppliedMigration } from './bookkeeping.ts';
import type { ServerHeartbeat } from './heartbeat.ts';
import type { MigrationDeclaration, MigrationFile, MigrationSource } from './migration.ts';
import { MigrationError, type MigrationStatus } from './migration-report.ts';

// The planner: pure functions from facts (discovered files in run order, bookkeeping rows, live schema
// facts, declarations read from migration files) to a plan. No database, no files, no clock: apply, dry
// run and rollback execute a plan; tests check plans directly.

/** One unit of work in a plan; a new kind of work adds a variant here and a case in apply-plan.ts. */
export type MigrationStep = { kind: 'apply'; file: MigrationFile };

/** What `crew migrate` will do. */
export interface MigratePlan {
  /** How many migration files were found. */
  found: number;
  /** Applied migrations whose file changed, accepted with --allow-changed: their stored checksums are updated first. */
  acceptedChanges: Array<{ id: string; name: string; checksum: string }>;
  /** Applied migrations whose file is gone (a database newer than this code). */
  missingFiles: string[];
  /** Why there is nothing to do (a report line), or null. */
  nothingToDo: string | null;
  steps: MigrationStep[];
  /** Take a backup before the first step. */
  backupFirst: boolean;
}

/** What `crew migrate NAME --rollback` will do. */
export interface RollbackPlan {
  file: MigrationFile;
  /** What the migration declared it made, which its down() removes: tables and `table.column`s (both empty: data only). */
  undoes: { tables: string[]; columns: string[] };
  /** Take a backup before rolling back. */
  backupFirst: boolean;
}

/** Finds a migration by name (`2fa`) or id (`0002_2fa`); an unknown name is bad usage (exit 2) and the message lists the known ones. */
export function findMigration(files: MigrationFile[], nameOrId: string): MigrationFile {
  const file = files.find((f) => f.name === nameOrId || f.id === nameOrId);
  if (!file) {
    throw new MigrationError('unknown_migration', `unknown migration "${nameOrId}". Known migrations: ${files.map((f) => f.name).join(', ') || '(none)'}`, 2);
  }
  return file;
}

/**
 * Plans `crew migrate` (every pending file in order, or only `target`): refuses changed applied files unless
 * `allowChanged`, refuses a target with earlier pending files, and backs up first when `backup` is wanted and
 * the live schema holds something besides crew's own tables.
 */
export function planMigrate(
  facts: { files: MigrationFile[]; applied: AppliedMigration[]; tables: string[] },
  request: { target?: string; allowChanged: boolean; backup: boolean },
): MigratePlan {
  const { files, applied } = facts;
  const target = request.target === undefined ? null : findMigration(files, request.target);
  const byId = new Map(files.map((f) => [f.id, f]));
  const changed = applied.filter((a) => byId.has(a.id) && byId.get(a.id)!.checksum !== a.checksum);
  if (changed.length > 0 && !request.allowChanged) {
    throw new MigrationError('checksum_mismatch', `applied migration(s) changed since they ran: ${changed.map((c) => c.name).join(', ')}. A released migration must not be edited; write a new one, or rerun with --allow-changed if the edit is harmless.`, 1);
  }
  const appliedIds = new Set(applied.map((a) => a.id));
  const pending = files.filter((f) => !appliedIds.has(f.id));
  const missing = applied.filter((a) => !byId.has(a.id));
  let steps: MigrationStep[] = pending.map((file) => ({ kind: 'apply', file }));
  let nothingToDo: string | null = null;
  if (target && appliedIds.has(target.id)) {
    nothingToDo = `✓ ${target.name} is already applied`;
  } else if (target) {
    const earlier = pending.slice(0, pending.indexOf(target));
    if (earlier.length > 0) {
      throw new MigrationError('earlier_pending', `cannot apply ${target.name} alone: earlier migration(s) ${earlier.map((f) => f.name).join(', ')} are not applied yet. Run \`crew migrate\` to apply them in order.`, 1);
    }
  } else if (pending.length === 0 && missing.length > 0) {
    // Not "nothing to do": the database records work whose file is gone, which someone has to look at.
    nothingToDo = `No pending migrations, but ${missing.length} applied migration(s) have no file: ${missing.map((a) => a.name).join(', ')}. Restore the file(s), or if one was deleted on purpose run \`crew migrate forget NAME\`.`;
  } else if (pending.length === 0) {
    nothingToDo = `All ${files.length} migration(s) are already applied; nothing to do.`;
  }
  if (nothingToDo) steps = [];
  else if (target) steps = [{ kind: 'apply', file: target }];
  return {
    found: files.length,
    acceptedChanges: changed.map((c) => ({ id: c.id, name: c.name, checksum: byId.get(c.id)!.checksum })),
    missingFiles: missing.map((a) => a.name),
    nothingToDo,
    steps,
    // A new database has nothing to lose: only crew's own bookkeeping tables, or nothing at all.
    backupFirst: request.backup && steps.length > 0 && facts.tables.some((t) => !t.startsWith('crew_')),
  };
}

/** The applied files after `file` in run order: their declarations are what a rollback's dependency check reads. */
export function laterApplied(files: MigrationFile[], applied: AppliedMigration[], file: MigrationFile): MigrationFile[] {
  const appliedIds = new Set(applied.map((a) => a.id));
  return files.slice(files.indexOf(file) + 1).filter((f) => appliedIds.has(f.id));
}

/** The tables a migration creates and the `table.column`s it adds (its non-'required' expectations on other tables). */
export function madeBy(declaration: MigrationDeclaration): { tables: string[]; columns: string[] } {
  const tables = declaration.creates ?? [];
  const columns = Object.entries(declaration.expects)
    .filter(([table]) => !tables.includes(table))
    .flatMap(([table, cols]) => Object.entries(cols).filter(([, spec]) => spec !== 'required').map(([col]) => `${table}.${col}`));
  return { tables: [...tables], columns };
}

/** Names of the later migrations that expect a table `target` creates or a column it adds. */
export function dependentsOf(target: MigrationDeclaration, later: Array<{ name: string; declaration: MigrationDeclaration }>): string[] {
  const made = madeBy(target);
  return later
    .filter(({ declaration }) =>
      Object.entries(declaration.expects).some(([table, cols]) => made.tables.includes(table) || Object.keys(cols).some((c) => made.columns.includes(`${table}.${c}`))),
    )
    .map((l) => l.name);
}

/**
 * Plans `crew migrate NAME --rollback`: refused when NAME is not applied, or while a later applied migration
 * depends on it (named, so they can be rolled back first). `declarations` holds NAME's and every later applied one's.
 */
export function planRollback(
  facts: { files: MigrationFile[]; applied: AppliedMigration[]; declarations: Map<string, MigrationDeclaration>; servers?: ServerHeartbeat[] },
  request: { target: string; backup: boolean; force?: boolean },
): RollbackPlan {
  const file = findMigration(facts.files, request.target);
  if (!facts.applied.some((a) => a.id === file.id)) {
    throw new MigrationError('not_applied', `${file.name} is not applied, so there is nothing to roll back`, 1);
  }
  // Your migrations may use crew's tables in ways no declaration shows (a foreign key, a view, a query in your
  // app): while any of them is applied, crew's built-ins stay. The simple rule beats a clever guess; no override.
  const appApplied = laterApplied(facts.files, facts.applied, file).filter((f) => f.source === 'app');
  if (file.source === 'crew' && appApplied.length > 0) {
    throw new MigrationError(
      'app_migrations_applied',
      `cannot roll back ${file.name}, one of crew's built-in migrations, while your migration(s) ${appApplied.map((f) => f.name).join(', ')} are applied: they may rely on crew's tables. Roll them back first (newest first).`,
      1,
    );
  }
  const declarationOf = (f: MigrationFile) => {
    const d = facts.declarations.get(f.id);
    if (!d) throw new TypeError(`planRollback needs the declaration of ${f.id}`);
    return d;
  };
  const later = laterApplied(facts.files, facts.applied, file).map((f) => ({ name: f.name, declaration: declarationOf(f) }));
  const dependents = dependentsOf(declarationOf(file), later);
  if (dependents.length > 0) {
    throw new MigrationError('has_dependents', `cannot roll back ${file.name}: applied migration(s) ${dependents.join(', ')} depend on it; roll them back first (newest first)`, 1);
  }
  // Issue 11: a rollback under a running server made every sign-in fail ("no such table"). Servers keep a
  // heartbeat row; while a fresh one exists the rollback is refused unless the operator says --force.
  const servers = facts.servers ?? [];
  if (servers.length > 0 && !request.force) {
    throw new MigrationError(
      'servers_running',
      `refusing to roll back ${file.name}: ${servers.length} crew server(s) are using this database (${servers.map(describeServer).join('; ')}). Stop them first, or pass --force if you are sure.`,
      1,
    );
  }
  return { file, undoes: madeBy(declarationOf(file)), backupFirst: request.backup };
}

/** "host web-1, pid 4242, started 2026-…Z" */
export function describeServer(server: ServerHeartbeat): string {
  return `host ${server.host}, pid ${server.pid}, started ${server.startedAt}`;
}

/** What `crew migrate forget NAME` will do: remove the bookkeeping row of an applied migration whose file is gone. */
export interface ForgetPlan {
  id: string;
  name: string;
  source: MigrationSource;
  backupFirst: boolean;
}

/**
 * Plans `crew migrate forget NAME`: only a row whose file is missing can be forgotten (a migration with a file is
 * rolled back, which also undoes its schema); an unknown name lists the rows that can be forgotten (exit 2).
 */
export function planForget(facts: { files: MigrationFile[]; applied: AppliedMigration[] }, request: { target: string; backup: boolean }): ForgetPlan {
  const row = facts.applied.find((a) => a.name === request.target || a.id === request.target);
  const withFile = facts.files.find((f) => f.name === request.target || f.id === request.target);
  if (withFile && row) {
    throw new MigrationError('file_exists', `${withFile.name} still has its file (${withFile.path}); forget is only for a row whose file was deleted. To undo it, run \`crew migrate ${withFile.name} --rollback\`.`, 1);
  }
  if (!row) {
    const missing = facts.applied.filter((a) => !facts.files.some((f) => f.id === a.id)).map((a) => a.name);
    throw new MigrationError('unknown_migration', `no applied migration "${request.target}" without a file. Applied migrations whose file is missing: ${missing.join(', ') || '(none)'}`, 2);
  }
  return { id: row.id, name: row.name, source: row.source, backupFirst: request.backup };
}

/** Every migration file with whether it is applied, plus applied rows whose file is gone. */
export function migrationStatus(files: MigrationFile[], applied: AppliedMigration[]): MigrationStatus[] {
  const byId = new Map(applied.map((a) => [a.id, a]));
  const rows: MigrationStatus[] = files.map((f) => {
    const a = byId.get(f.id);
    if (!a) return { id: f.id, name: f.name, source: f.source, state: 'pending', appliedAt: null, adopted: false };
    return { id: f.id, name: f.name, source: f.source, state: a.checksum === f.checksum ? 'applied' : 'changed', appliedAt: a.appliedAt, adopted: a.adopted };
  });
  for (const a of applied) {
    if (!files.some((f) => f.id === a.id)) rows.push({ id: a.id, name: a.name, source: a.source, state: 'missing-file', appliedAt: a.appliedAt, adopted: a.adopted });
  }
  return rows;
}
