import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type OpenDatabase } from '../../src/db/open-database.ts';
import { canonicalSecret } from '../../src/lib/plaintext-secret.ts';
import { SecretBox } from '../../src/lib/secret-box.ts';
import { MigrationRunner, type RunnerOptions } from '../../src/migrate/migration-runner.ts';
import { compareAndSwapStatement } from '../../src/migrate/secret-sweep.ts';
import { makeFlaskDatabase, type FlaskDatabase } from '../helpers/flask-database.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';

// Threat: TOTP seeds readable by anyone who gets the database file, a backup, or a copy of its free pages
// (OWASP ASVS V6.2.1 / V2.9.1: secrets at rest are encrypted with an approved algorithm). The secret sweep encrypts
// every plain-text secret on each `crew migrate`, in batches, by compare-and-swap, leaving no plain bytes behind.

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function flask(kind: 'sqlite' | 'postgres'): Promise<{ flask: FlaskDatabase; open: OpenDatabase; box: SecretBox; secrets: string[] }> {
  const flask = await makeFlaskDatabase(kind, { users: 40 });
  const open = await openDatabase(flask.config);
  cleanups.push(async () => {
    await open.close();
    await flask.cleanup();
  });
  const secrets = flask.plaintexts.users.flatMap((u) => (u.twoFactor ? [u.twoFactor.secret] : []));
  expect(secrets.length).toBeGreaterThan(10);
  return { flask, open, box: new SecretBox([randomBytes(32)]), secrets };
}

function runner(open: OpenDatabase, box: SecretBox, extra: Partial<RunnerOptions> = {}): MigrationRunner {
  return new MigrationRunner(open, { backup: false, sweepBatchRows: 7, encryptSecret: (plain) => box.encrypt(plain), ...extra });
}

async function storedSecrets(open: OpenDatabase): Promise<Array<{ id: number; secret: string }>> {
  return (await open.db.selectFrom('two_factor_auth').select(['id', 'secret']).orderBy('id').execute()) as Array<{ id: number; secret: string }>;
}

/** Changes a row on ANOTHER connection, synchronously (as the old app would, between the sweep's read and write). */
function writeElsewhere(flask: FlaskDatabase, id: number, secret: string): void {
  if (flask.kind === 'sqlite') {
    const other = new BetterSqlite3((flask.config as { path: string }).path, { timeout: 5000 });
    other.prepare('UPDATE two_factor_auth SET secret = ? WHERE id = ?').run(secret, id);
    other.close();
  } else {
    execFileSync('psql', [flask.url, '-v', 'ON_ERROR_STOP=1', '-qc', `UPDATE two_factor_auth SET secret = '${secret}' WHERE id = ${id}`]);
  }
}

describe.each(TEST_DIALECTS)('secret sweep (%s)', (kind) => {
  it('encrypts every plain-text secret in batches, and the envelopes decrypt to the old secrets', { timeout: 120_000 }, async () => {
    const { flask, open, box, secrets } = await flask_(kind);
    const lines: string[] = [];
    const report = await runner(open, box, { onLine: (l) => lines.push(l) }).migrate();
    expect(report.ok, lines.join('\n')).toBe(true);
    expect(report.secretsEncrypted).toBe(secrets.length);
    const stored = await storedSecrets(open);
    expect(stored.every((r) => SecretBox.isEnvelope(r.secret))).toBe(true);
    expect(stored.map((r) => box.decrypt(r.secret)).sort()).toEqual(secrets.map(canonicalSecret).sort());
    expect(lines).toContain(`✓ encrypted ${secrets.length} plain-text TOTP secret(s)`);
    // Progress lines (no TTY here): the start and the end at least.
    expect(lines.some((l) => /encrypting plain-text TOTP secrets: 0 of \d+/.test(l))).toBe(true);
    expect(lines.some((l) => /\(100 %\)$/.test(l))).toBe(true);
    void flask;
  });

  it('a second run is a no-op; a secret the old app writes afterwards is found and encrypted by the next run', { timeout: 120_000 }, async () => {
    const { flask, open, box } = await flask_(kind);
    expect((await runner(open, box).migrate()).ok).toBe(true);
    const lines: string[] = [];
    const again = await runner(open, box, { onLine: (l) => lines.push(l) }).migrate();
    expect(again.secretsEncrypted).toBe(0);
    expect(lines.filter((l) => /secret/i.test(l))).toEqual([]);
    const [first] = await storedSecrets(open);
    writeElsewhere(flask, first!.id, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    const third = await runner(open, box).migrate();
    expect(third.secretsEncrypted).toBe(1);
    const [row] = await storedSecrets(open);
    expect(box.decrypt(row!.secret)).toBe('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
  });

  it('a pass stopped half-way keeps its committed batches, and a re-run finishes it', { timeout: 120_000 }, async () => {
    const { open, box, secrets } = await flask_(kind);
    let calls = 0;
    const failing = runner(open, box, {
      encryptSecret: (plain) => {
        if (++calls > 10) throw new Error('simulated crash');
        return box.encrypt(plain);
      },
    });
    const broken = await failing.migrate();
    expect(broken.ok).toBe(false);
    const half = await storedSecrets(open);
    const done = half.filter((r) => SecretBox.isEnvelope(r.secret)).length;
    expect(done).toBeGreaterThan(0); // whole batches of 7 committed before the failure
    expect(done).toBeLessThan(secrets.length);
    const rerun = await runner(open, box).migrate();
    expect(rerun.ok, rerun.lines.join('\n')).toBe(true);
    const stored = await storedSecrets(open);
    expect(stored.map((r) => box.decrypt(r.secret)).sort()).toEqual(secrets.map(canonicalSecret).sort());
  });

  it('compare-and-swap: a secret changed between the read and the write is not overwritten with the old one', { timeout: 120_000 }, async () => {
    // Threat: the old app (still running) re-enrols a user while the sweep runs; a blind UPDATE would put back the
    // secret it read, and the user's new authenticator would stop working.
    const { flask, open, box } = await flask_(kind);
    const [first] = await storedSecrets(open);
    let changed = false;
    const lines: string[] = [];
    const report = await runner(open, box, {
      onLine: (l) => lines.push(l),
      encryptSecret: (plain) => {
        if (!changed) {
          changed = true;
          writeElsewhere(flask, first!.id, 'NEWSECRETNEWSECRETNEWSECRETNEW23');
        }
        return box.encrypt(plain);
      },
    }).migrate();
    expect(report.ok, lines.join('\n')).toBe(true);
    expect(lines.some((l) => /changed while being encrypted/.test(l))).toBe(true);
    // The next step of the same run (the sweep after the migrations) encrypts the NEW value.
    const [row] = await storedSecrets(open);
    expect(box.decrypt(row!.secret)).toBe('NEWSECRETNEWSECRETNEWSECRETNEW23');
  });

  if (kind === 'sqlite') {
    it('leaves no plain-text secret in the raw bytes of the database or its WAL, nor in `sqlite3 .dump`', { timeout: 120_000 }, async () => {
      const { flask, open, box, secrets } = await flask_(kind);
      const path = (flask.config as { path: string }).path;
      const before = readFileSync(path);
      expect(secrets.filter((s) => before.includes(s)).length).toBe(secrets.length); // the fixture really holds them
      expect((await runner(open, box).migrate()).ok).toBe(true);
      const raw = Buffer.concat([readFileSync(path), existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`) : Buffer.alloc(0)]);
      expect(secrets.filter((s) => raw.includes(s))).toEqual([]);
      const dump = execFileSync('sqlite3', [path, '.dump'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      expect(secrets.filter((s) => dump.includes(s))).toEqual([]);
    });
  } else {
    it('widens the Flask VARCHAR(32) column to text first, keeping every value', { timeout: 120_000 }, async () => {
      const { open, box } = await flask_(kind);
      const report = await runner(open, box).migrate();
      expect(report.lines).toContain('✓ widened two_factor_auth.secret to text (room for the encryption envelope)');
      expect((await storedSecrets(open)).every((r) => r.secret.length > 32)).toBe(true);
    });
  }
});

const flask_ = flask;

describe('secret sweep: the write statement', () => {
  it('looks every row up by its primary key on SQLite (no table scan per statement)', async () => {
    // A join with a VALUES list made SQLite scan all of two_factor_auth for every statement: a 700,000-row adoption
    // ran for hours. The plan is checked on the Flask table as the Flask app made it (PRIMARY KEY (id)).
    const raw = new BetterSqlite3(':memory:');
    raw.exec('CREATE TABLE two_factor_auth (id INTEGER NOT NULL, user_id INTEGER NOT NULL, secret VARCHAR(32) NOT NULL, backup_codes TEXT, PRIMARY KEY (id), UNIQUE (user_id))');
    const { Kysely, SqliteDialect } = await import('kysely');
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: raw }) });
    const chunk = Array.from({ length: 200 }, (_, i) => ({ id: i + 1, old: 'JBSWY3DPEHPK3PXP', sealed: 'v1.x' }));
    const compiled = compareAndSwapStatement(chunk).compile(db);
    const plan = raw.prepare(`EXPLAIN QUERY PLAN ${compiled.sql}`).all(...(compiled.parameters as unknown[])) as Array<{ detail: string }>;
    expect(plan.map((p) => p.detail)).toEqual(['SEARCH two_factor_auth USING INTEGER PRIMARY KEY (rowid=?)']);
    await db.destroy();
  });
});
