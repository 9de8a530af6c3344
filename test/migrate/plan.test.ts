import { describe, expect, it } from 'vitest';
import type { AppliedMigration } from '../../src/migrate/bookkeeping.ts';
import type { MigrationDeclaration, MigrationFile } from '../../src/migrate/migration.ts';
import { dependentsOf, migrationStatus, planForget, planMigrate, planRollback } from '../../src/migrate/plan.ts';

// The planner is pure: these tests need no database and no files, only facts.

const file = (order: number, name: string, checksum = 'a'.repeat(64), source: 'crew' | 'app' = 'crew'): MigrationFile => {
  const id = `${String(order).padStart(4, '0')}_${name}`;
  return { id, name, order, path: `/migrations/${id}.ts`, checksum, source };
};
const applied = (f: MigrationFile, checksum = f.checksum): AppliedMigration => ({ id: f.id, name: f.name, checksum, appliedAt: '2026-01-01T00:00:00.000Z', adopted: false, executionMs: 1, source: f.source });

const users = file(1, 'users');
const twoFa = file(2, '2fa');
const sessions = file(3, 'sessions');
const FILES = [users, twoFa, sessions];
const request = { allowChanged: false, backup: true };

describe('planMigrate', () => {
  it('plans every pending file in order; a new database (no tables, or only crew_ ones) is not backed up', () => {
    const plan = planMigrate({ files: FILES, applied: [], tables: [] }, request);
    expect(plan.steps.map((s) => [s.kind, s.file.name])).toEqual([['apply', 'users'], ['apply', '2fa'], ['apply', 'sessions']]);
    expect(plan).toMatchObject({ found: 3, nothingToDo: null, backupFirst: false, acceptedChanges: [], missingFiles: [] });
    expect(planMigrate({ files: FILES, applied: [], tables: ['crew_migrations', 'crew_migration_lock'] }, request).backupFirst).toBe(false);
  });

  it('backs up first when the schema holds data and a backup is wanted', () => {
    const facts = { files: FILES, applied: [applied(users)], tables: ['users', 'crew_migrations'] };
    expect(planMigrate(facts, request).backupFirst).toBe(true);
    expect(planMigrate(facts, { ...request, backup: false }).backupFirst).toBe(false);
  });

  it('has nothing to do when everything is applied, and says so', () => {
    const plan = planMigrate({ files: FILES, applied: FILES.map((f) => applied(f)), tables: ['users'] }, request);
    expect(plan).toMatchObject({ steps: [], backupFirst: false, nothingToDo: 'All 3 migration(s) are already applied; nothing to do.' });
  });

  it('plans one target only when the files before it are applied', () => {
    expect(() => planMigrate({ files: FILES, applied: [], tables: [] }, { ...request, target: 'sessions' })).toThrow(/cannot apply sessions alone: earlier migration\(s\) users, 2fa are not applied/);
    const plan = planMigrate({ files: FILES, applied: [applied(users)], tables: ['users'] }, { ...request, target: '0002_2fa' });
    expect(plan.steps.map((s) => s.file.name)).toEqual(['2fa']);
    expect(planMigrate({ files: FILES, applied: [applied(users)], tables: [] }, { ...request, target: 'users' }).nothingToDo).toBe('✓ users is already applied');
  });

  it('refuses an unknown target as bad usage, listing the known names', () => {
    expect(() => planMigrate({ files: FILES, applied: [], tables: [] }, { ...request, target: 'nope' })).toThrow(
      expect.objectContaining({ exitCode: 2, code: 'unknown_migration', message: 'unknown migration "nope". Known migrations: users, 2fa, sessions' }),
    );
  });

  it('refuses a changed applied file unless allowed, and then plans the checksum update', () => {
    const facts = { files: FILES, applied: [applied(users, 'b'.repeat(64))], tables: ['users'] };
    expect(() => planMigrate(facts, request)).toThrow(expect.objectContaining({ code: 'checksum_mismatch', exitCode: 1 }));
    expect(planMigrate(facts, { ...request, allowChanged: true }).acceptedChanges).toEqual([{ id: users.id, name: 'users', checksum: 'a'.repeat(64) }]);
  });

  it('names applied migrations whose file is gone', () => {
    const gone = file(4, 'gone');
    expect(planMigrate({ files: FILES, applied: [...FILES.map((f) => applied(f)), applied(gone)], tables: [] }, request).missingFiles).toEqual(['gone']);
  });

  it('follows the order of the file list, not the numbers, so a second source can follow the built-ins', () => {
    const appFile = file(1, 'add_phone');
    const plan = planMigrate({ files: [...FILES, appFile], applied: [], tables: [] }, request);
    expect(plan.steps.map((s) => s.file.id)).toEqual(['0001_users', '0002_2fa', '0003_sessions', '0001_add_phone']);
    expect(() => planMigrate({ files: [...FILES, appFile], applied: [applied(users)], tables: [] }, { ...request, target: 'add_phone' })).toThrow(/earlier migration\(s\) 2fa, sessions/);
  });

  it('never changes its inputs', () => {
    const facts = { files: FILES, applied: [applied(users)], tables: ['users'] };
    const before = JSON.stringify(facts);
    planMigrate(facts, request);
    expect(JSON.stringify(facts)).toBe(before);
  });
});

const DECLARATIONS: Record<string, MigrationDeclaration> = {
  [users.id]: { creates: ['users'], expects: { users: { id: 'required', role: { type: 'text' } } } },
  [twoFa.id]: { creates: ['two_factor_auth'], expects: { users: { id: 'required' }, two_factor_auth: { id: 'required' } } },
  [sessions.id]: { expects: { users: { id: 'required', nickname: { type: 'text' } } } },
};
const declarations = new Map(Object.entries(DECLARATIONS));

describe('planRollback', () => {
  const allApplied = FILES.map((f) => applied(f));

  it('refuses while a later applied migration expects a table this one creates, naming it', () => {
    expect(() => planRollback({ files: FILES, applied: allApplied, declarations }, { target: 'users', backup: true })).toThrow(
      expect.objectContaining({ code: 'has_dependents', message: 'cannot roll back users: applied migration(s) 2fa, sessions depend on it; roll them back first (newest first)' }),
    );
  });

  it('refuses a migration that is not applied', () => {
    expect(() => planRollback({ files: FILES, applied: [applied(users)], declarations }, { target: '2fa', backup: true })).toThrow(expect.objectContaining({ code: 'not_applied' }));
  });

  it('says what the rollback undoes: tables created, columns added, or neither', () => {
    expect(planRollback({ files: FILES, applied: allApplied, declarations }, { target: '2fa', backup: true })).toMatchObject({ file: twoFa, undoes: { tables: ['two_factor_auth'], columns: [] }, backupFirst: true });
    expect(planRollback({ files: FILES, applied: allApplied, declarations }, { target: 'sessions', backup: false })).toMatchObject({ undoes: { tables: [], columns: ['users.nickname'] }, backupFirst: false });
    const dataOnly = new Map([...declarations, [sessions.id, { expects: { users: { id: 'required' } } }]]);
    expect(planRollback({ files: FILES, applied: allApplied, declarations: dataOnly }, { target: 'sessions', backup: true }).undoes).toEqual({ tables: [], columns: [] });
  });

  it('treats a missing declaration as a programming error', () => {
    expect(() => planRollback({ files: FILES, applied: allApplied, declarations: new Map() }, { target: 'sessions', backup: true })).toThrow(TypeError);
  });
});

describe('planRollback with the app’s own migrations and running servers', () => {
  const phone = file(1, 'add_phone', 'b'.repeat(64), 'app');
  const files = [...FILES, phone];
  const decl = new Map([...declarations, [phone.id, { expects: { users: { phone: 'required' as const } } }]]);
  const server = { id: 'x', host: 'web-1', pid: 42, startedAt: '2026-01-01T00:00:00.000Z', beatAt: '2026-01-01T00:00:00.000Z' };

  it('refuses a built-in while any app migration is applied, naming them, even one no declaration links', () => {
    expect(() => planRollback({ files, applied: files.map((f) => applied(f)), declarations: decl }, { target: 'sessions', backup: true })).toThrow(
      expect.objectContaining({ code: 'app_migrations_applied', message: expect.stringContaining('while your migration(s) add_phone are applied') }),
    );
    expect(planRollback({ files, applied: files.map((f) => applied(f)), declarations: decl }, { target: 'add_phone', backup: true }).file).toBe(phone);
    expect(planRollback({ files, applied: FILES.map((f) => applied(f)), declarations: decl }, { target: 'sessions', backup: true }).file).toBe(sessions);
  });

  it('refuses while servers run, naming them, unless forced; checks dependents first', () => {
    const facts = { files: FILES, applied: FILES.map((f) => applied(f)), declarations, servers: [server] };
    expect(() => planRollback(facts, { target: 'sessions', backup: true })).toThrow(expect.objectContaining({ code: 'servers_running', message: expect.stringContaining('(host web-1, pid 42, started 2026-01-01T00:00:00.000Z)') }));
    expect(planRollback(facts, { target: 'sessions', backup: true, force: true }).file).toBe(sessions);
    expect(() => planRollback(facts, { target: 'users', backup: true, force: true })).toThrow(expect.objectContaining({ code: 'has_dependents' }));
  });
});

describe('planForget', () => {
  const gone = file(9, 'gone');
  it('forgets only an applied row whose file is gone', () => {
    const facts = { files: FILES, applied: [...FILES.map((f) => applied(f)), applied(gone)] };
    expect(planForget(facts, { target: 'gone', backup: true })).toEqual({ id: gone.id, name: 'gone', source: 'crew', backupFirst: true });
    expect(() => planForget(facts, { target: 'sessions', backup: true })).toThrow(expect.objectContaining({ code: 'file_exists' }));
    expect(() => planForget(facts, { target: 'nosuch', backup: true })).toThrow(expect.objectContaining({ code: 'unknown_migration', exitCode: 2, message: expect.stringContaining('whose file is missing: gone') }));
  });
});

describe('planMigrate with applied rows whose file is missing', () => {
  it('warns instead of saying there is nothing to do', () => {
    const plan = planMigrate({ files: FILES, applied: [...FILES.map((f) => applied(f)), applied(file(9, 'gone'))], tables: [] }, request);
    expect(plan.missingFiles).toEqual(['gone']);
    expect(plan.nothingToDo).toMatch(/^No pending migrations, but 1 applied migration\(s\) have no file: gone\./);
  });
});

describe('dependentsOf', () => {
  it('counts columns a migration adds, not the ones it only requires', () => {
    const addsNickname = DECLARATIONS[sessions.id]!;
    expect(dependentsOf(addsNickname, [{ name: 'uses_nickname', declaration: { expects: { users: { nickname: 'required' } } } }])).toEqual(['uses_nickname']);
    expect(dependentsOf(addsNickname, [{ name: 'uses_id', declaration: { expects: { users: { id: 'required' } } } }])).toEqual([]);
  });
});

describe('migrationStatus', () => {
  it('marks each file applied, changed or pending, and lists applied rows whose file is gone', () => {
    const gone = file(9, 'gone');
    const rows = migrationStatus(FILES, [applied(users), applied(twoFa, 'c'.repeat(64)), applied(gone)]);
    expect(rows.map((r) => [r.name, r.state])).toEqual([['users', 'applied'], ['2fa', 'changed'], ['sessions', 'pending'], ['gone', 'missing-file']]);
  });
});
