import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFlaskDatabase, type FlaskDatabase } from '../helpers/flask-database.ts';
import { runCrew, spawnCrew, SPAWN_TEST_TIMEOUT_MS } from '../helpers/run-crew.ts';
import { openDatabase } from '../../src/db/open-database.ts';
import { parseEncryptionKeys, SecretBox } from '../../src/lib/secret-box.ts';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';

// Secrets at rest through the shipped CLI (OWASP ASVS V6.2.1, V2.9.1, V6.4.1, V7.1.1; docs/SECURITY.md "Secrets at rest"):
// a dry run writes nothing and prints no secret; every file crew creates is 0600; `crew db verify` reports plain text.

const KEY = Buffer.alloc(32, 7).toString('base64');
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** SQLite keeps its key file beside the database when CREW_ENCRYPTION_KEY is unset (the case a dry run must not touch). */
const envFor = (db: TestDatabase) => ({ DATABASE_URL: db.url, ...(db.kind === 'postgres' ? { CREW_ENCRYPTION_KEY: KEY } : {}) });
const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

async function flaskDatabase(kind: 'sqlite' | 'postgres'): Promise<{ flask: FlaskDatabase; secrets: string[] }> {
  const flask = await makeFlaskDatabase(kind, { users: 40 });
  cleanups.push(() => flask.cleanup());
  return { flask, secrets: flask.plaintexts.users.flatMap((u) => (u.twoFactor ? [u.twoFactor.secret] : [])) };
}

/** Writes a plain-text secret as the old Flask app would, after crew's migration. */
function oldAppWrites(flask: FlaskDatabase, userId: number, secret: string): void {
  if (flask.kind === 'sqlite') {
    const raw = new BetterSqlite3((flask.config as { path: string }).path, { timeout: 5000 });
    raw.prepare('UPDATE two_factor_auth SET secret = ? WHERE user_id = ?').run(secret, userId);
    raw.close();
  } else {
    execFileSync('psql', [flask.url, '-v', 'ON_ERROR_STOP=1', '-qc', `UPDATE two_factor_auth SET secret = '${secret}' WHERE user_id = ${userId}`]);
  }
}

describe.each(TEST_DIALECTS)('secrets at rest through the CLI (%s)', { timeout: SPAWN_TEST_TIMEOUT_MS }, (kind) => {
  it('a dry run prints no secret or hash (text and --json), creates no key file and leaves the file byte-identical', async () => {
    const { flask, secrets } = await flaskDatabase(kind);
    const path = kind === 'sqlite' ? (flask.config as { path: string }).path : null;
    const before = path ? sha256(path) : null;
    const hashes = (await flaskHashes(flask)).filter((h) => h.length >= 8);
    for (const args of [['migrate', '--dry-run'], ['migrate', '--dry-run', '--json']]) {
      const run = await runCrew(args, { env: envFor(flask), cwd: flask.dir });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      const printed = run.stdout + run.stderr;
      expect(secrets.filter((s) => printed.includes(s))).toEqual([]);
      expect(hashes.filter((h) => printed.includes(h))).toEqual([]);
      expect(printed).toContain('<redacted>'); // 0006's UPDATEs are shown, their values are not
    }
    expect((await runCrew(['migrate', '--dry-run'], { env: envFor(flask), cwd: flask.dir })).stdout).toMatch(/-- secret sweep: would encrypt \d+ plain-text TOTP secret/);
    if (path) {
      expect(sha256(path)).toBe(before); // no journal-mode switch, no write
      expect(existsSync(`${path}-wal`)).toBe(false);
      expect(existsSync(`${path}.key`)).toBe(false);
    }
  });

  it('crew migrate encrypts with progress lines; verify names a plain-text secret written later (exit 1) until the next migrate', async () => {
    const { flask, secrets } = await flaskDatabase(kind);
    const migrate = await runCrew(['migrate'], { env: envFor(flask), cwd: flask.dir });
    expect(migrate.code, migrate.stdout + migrate.stderr).toBe(0);
    expect(migrate.stdout).toMatch(/ {2}encrypting plain-text TOTP secrets: \d+ of \d+ row\(s\) checked \(100 %\)/);
    expect(migrate.stdout).toContain(`✓ encrypted ${secrets.length} plain-text TOTP secret(s)`);
    expect((await runCrew(['db', 'verify'], { env: envFor(flask), cwd: flask.dir })).code).toBe(0);
    const victim = flask.plaintexts.users.find((u) => u.twoFactor)!;
    oldAppWrites(flask, victim.id, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    const verify = await runCrew(['db', 'verify'], { env: envFor(flask), cwd: flask.dir });
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain(`✗ secrets at rest: 1 TOTP secret(s) stored in plain text, of user id(s) ${victim.id}; run \`crew migrate\` to encrypt them`);
    const json = JSON.parse((await runCrew(['db', 'verify', '--json'], { env: envFor(flask), cwd: flask.dir })).stdout);
    expect(json.plaintextSecretUserIds).toEqual([victim.id]);
    const again = await runCrew(['migrate'], { env: envFor(flask), cwd: flask.dir });
    expect(again.stdout).toContain('✓ encrypted 1 plain-text TOTP secret(s)');
    expect((await runCrew(['db', 'verify'], { env: envFor(flask), cwd: flask.dir })).code).toBe(0);
  });

  it('kill -9 during the encryption pass, then a re-run, loses no one', async () => {
    const flask = await makeFlaskDatabase(kind, { users: 20_000, bulk: true });
    cleanups.push(() => flask.cleanup());
    const env = { DATABASE_URL: flask.url, CREW_ENCRYPTION_KEY: KEY };
    const child = spawnCrew(['migrate'], { env, cwd: flask.dir });
    let stdout = '';
    await new Promise<void>((resolveKilled) => {
      child.stdout!.on('data', (d) => {
        stdout += d;
        // The first progress line past 0 %: at least one batch has committed.
        if (/encrypting plain-text TOTP secrets: [1-9]\d* of/.test(stdout) && child.exitCode === null) child.kill('SIGKILL');
      });
      child.on('close', () => resolveKilled());
    });
    const killed = await openDatabase(flask.config);
    const sealed = await killed.db.selectFrom('two_factor_auth').select((eb) => eb.fn.countAll<number | string>().as('n')).where('secret', 'like', 'v1.%').executeTakeFirst();
    await killed.close();
    expect(Number(sealed?.n)).toBeGreaterThan(0); // the batches before the kill committed
    const rerun = await runCrew(['migrate'], { env, cwd: flask.dir });
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    const open = await openDatabase(flask.config);
    try {
      const box = new SecretBox(parseEncryptionKeys(KEY));
      const rows = (await open.db.selectFrom('two_factor_auth').select(['user_id', 'secret']).execute()) as Array<{ user_id: number; secret: string }>;
      const byUser = new Map(rows.map((r) => [Number(r.user_id), r.secret]));
      const recorded = flask.plaintexts.users.filter((u) => u.twoFactor);
      expect(rows.length).toBe(flask.plaintexts.counts.twoFactor.enabled + flask.plaintexts.counts.twoFactor.pending + flask.plaintexts.counts.twoFactor.disabled);
      expect(rows.every((r) => SecretBox.isEnvelope(r.secret))).toBe(true);
      expect(recorded.filter((u) => box.decrypt(byUser.get(u.id)!) !== u.twoFactor!.secret.toUpperCase()).map((u) => u.id)).toEqual([]);
    } finally {
      await open.close();
    }
  });

  it('every file crew creates is mode 0600: database, WAL, SHM, backups, dumps', async () => {
    const db = await createTestDatabase(kind);
    cleanups.push(() => db.cleanup());
    expect((await runCrew(['migrate'], { env: envFor(db), cwd: db.dir })).code).toBe(0);
    const out = join(db.dir, 'out', kind === 'sqlite' ? 'copy.db' : 'dump.sql');
    const backup = await runCrew(['db', 'backup', '--out', out], { env: envFor(db), cwd: db.dir });
    expect(backup.code, backup.stderr).toBe(0);
    expect(mode(out)).toBe('600');
    if (kind === 'sqlite') {
      const path = (db.config as { path: string }).path;
      // Keep a reader open so the WAL and SHM exist while we look at them.
      const reader = new BetterSqlite3(path, { readonly: true });
      reader.prepare('SELECT count(*) FROM users').get();
      for (const file of [path, `${path}-wal`, `${path}-shm`]) expect([file, mode(file)]).toEqual([file, '600']);
      reader.close();
    }
    // A manual backup (SQLite online backup, or pg_dump) in backups/, and the folder itself private.
    expect((await runCrew(['db', 'backup'], { env: envFor(db), cwd: db.dir })).code).toBe(0);
    const backups = readdirSync(join(db.dir, 'backups'));
    expect(backups.length).toBe(1);
    expect(mode(join(db.dir, 'backups', backups[0]!))).toBe('600');
    expect(mode(join(db.dir, 'backups'))).toBe('700');
  });

  if (kind === 'sqlite') {
    it('an adopted Flask database (0644) is narrowed to 0600 by crew migrate, with its WAL and SHM', async () => {
      const { flask } = await flaskDatabase(kind);
      const path = (flask.config as { path: string }).path;
      expect(mode(path)).toBe('644'); // as the Flask app left it
      expect((await runCrew(['migrate'], { env: envFor(flask), cwd: flask.dir })).code).toBe(0);
      expect(mode(path)).toBe('600');
      for (const f of readdirSync(join(flask.dir, 'backups'))) expect(mode(join(flask.dir, 'backups', f))).toBe('600');
    });

    it('migrate --dry-run on a missing SQLite path creates no file, and shows what creating it would do', async () => {
      const db = await createTestDatabase(kind);
      cleanups.push(() => db.cleanup());
      const path = (db.config as { path: string }).path;
      const run = await runCrew(['migrate', '--dry-run'], { env: envFor(db), cwd: db.dir });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(`(no database at ${path} yet`);
      expect(run.stdout).toContain('create table "users"');
      expect(readdirSync(db.dir)).toEqual([]);
    });
  }
});

/** Every password and backup-code hash the Flask app stored (a dry run must not print them either). */
async function flaskHashes(flask: FlaskDatabase): Promise<string[]> {
  if (flask.kind === 'sqlite') {
    const raw = new BetterSqlite3((flask.config as { path: string }).path, { readonly: true });
    const rows = raw.prepare('SELECT password_hash AS h FROM "user" UNION ALL SELECT backup_codes FROM two_factor_auth WHERE backup_codes IS NOT NULL').all() as Array<{ h: string }>;
    raw.close();
    return rows.flatMap((r) => splitHashes(r.h));
  }
  const out = execFileSync('psql', [flask.url, '-Atqc', `SELECT password_hash FROM "user" UNION ALL SELECT backup_codes FROM two_factor_auth WHERE backup_codes IS NOT NULL`], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).flatMap(splitHashes);
}

function splitHashes(value: string): string[] {
  try {
    const parsed = JSON.parse(value) as unknown;
    if (Array.isArray(parsed)) return parsed.map(String);
  } catch {
    /* a single hash */
  }
  return [value];
}
