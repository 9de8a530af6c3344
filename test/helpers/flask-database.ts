import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { DEBIAN_PYTHON } from './werkzeug-hash.ts';

const run = promisify(execFile);
const FIXTURES = fileURLToPath(new URL('../fixtures/flask/', import.meta.url));

/** A 2FA row of the Flask app as recorded by the generator (test/fixtures/flask/make_database.py). */
export interface FlaskTwoFactorRecord {
  /** enabled; pending = secret set, never verified, backup_codes NULL; disabled = enabled false, old codes left. */
  state: 'enabled' | 'pending' | 'disabled';
  /** The pyotp base32 secret, stored in plain text by the Flask app. */
  secret: string;
  /** Codes whose werkzeug hashes are in backup_codes now (for a disabled row: the codes left from when it was on). */
  backupCodes: string[];
  /** Codes issued and already used: their hashes are gone. */
  spentBackupCodes: string[];
  /** The werkzeug method of the backup-code hashes (`pbkdf2:sha256:1000`, `sha256`, …), null when there are none. */
  backupCodeMethod: string | null;
}

/** One Flask user as recorded by the generator, with its plaintexts. */
export interface FlaskUserRecord {
  id: number;
  username: string;
  email: string | null;
  password: string;
  /** As parseWerkzeugHash names it: `pbkdf2:sha256`, `scrypt`, `salted sha256`, `unsalted md5`, `plain`. */
  passwordHashFormat: string;
  /** The stored hash's method part: `pbkdf2:sha256:260000`, `scrypt:32768:8:1`, `sha256`, `plain`, … */
  passwordHashMethod: string;
  twoFactor: FlaskTwoFactorRecord | null;
}

/** The JSON the generator writes beside the database. */
export interface FlaskPlaintexts {
  generator: { werkzeug: string; flaskSqlalchemy: string; sqlalchemy: string; pyotp: string; flask: string };
  options: { users: number; seed: number; caseClash: boolean; bulk: boolean; realisticCost: boolean; recordLimit: number | null };
  tables: string[];
  /** Rows in the database; `ids` is the highest user id (deleted users leave gaps); `recorded` users are in `users`. */
  counts: { users: number; twoFactor: { enabled: number; pending: number; disabled: number }; ids: number; recorded: number };
  /** With `caseClash`: the ids of the two users whose names differ only by case. */
  caseClash: [number, number] | null;
  users: FlaskUserRecord[];
}

/** Options of {@link makeFlaskDatabase}; see make_database.py for what each covers. */
export interface FlaskDatabaseOptions {
  /** Users in the `user` table, besides the case clash (at least one per hash format, 19); default 40. */
  users?: number;
  seed?: number;
  /** Add a user whose name differs from the first one's only by case. */
  caseClash?: boolean;
  /** Write rows with executemany in chunks (the benchmark's million users). */
  bulk?: boolean;
  /** werkzeug's default cost for every hash, not the fast pbkdf2:sha256:1000 of the bulk of users. */
  realisticCost?: boolean;
  /** Record plaintexts of the first K users only. */
  recordLimit?: number;
}

/** A database made by the Flask app's own stack, with its plaintexts. */
export interface FlaskDatabase extends TestDatabase {
  plaintexts: FlaskPlaintexts;
  /** The JSON file beside the database holding `plaintexts`. */
  plaintextsPath: string;
}

/** Runs one of the Python scripts in test/fixtures/flask with Debian's /usr/bin/python3; resolves its stdout. */
export async function runFlaskScript(script: string, args: string[], timeoutMs = 600_000): Promise<string> {
  try {
    const { stdout } = await run(DEBIAN_PYTHON, ['-B', join(FIXTURES, script), ...args], {
      cwd: FIXTURES,
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PYTHONIOENCODING: 'utf-8' },
      maxBuffer: 256 * 1024 * 1024,
      timeout: timeoutMs,
    });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`${script} failed (it needs /usr/bin/python3 with Debian's python3-flask-sqlalchemy, python3-werkzeug, python3-pyotp, python3-psycopg2): ${(error as Error).message}\n${stderr}`, { cause: error });
  }
}

/**
 * Makes a throw-away database of `kind` (a SQLite file, or a fresh PostgreSQL database) the way the Flask app did —
 * Flask-SQLAlchemy's create_all, werkzeug hashes, pyotp secrets — and returns it with the recorded plaintexts.
 * @example const flask = await makeFlaskDatabase('postgres', { users: 40, caseClash: true }); … await flask.cleanup();
 */
export async function makeFlaskDatabase(kind: 'sqlite' | 'postgres', options: FlaskDatabaseOptions = {}): Promise<FlaskDatabase> {
  const database = await createTestDatabase(kind);
  const plaintextsPath = join(database.dir, 'production_crew.plaintexts.json');
  const args = ['--url', database.url, '--plaintexts', plaintextsPath, '--users', String(options.users ?? 40), '--seed', String(options.seed ?? 1)];
  if (options.caseClash) args.push('--case-clash');
  if (options.bulk) args.push('--bulk');
  if (options.realisticCost) args.push('--realistic-cost');
  if (options.recordLimit !== undefined) args.push('--record-limit', String(options.recordLimit));
  try {
    await runFlaskScript('make_database.py', args);
  } catch (error) {
    await database.cleanup();
    throw error;
  }
  const plaintexts = JSON.parse(readFileSync(plaintextsPath, 'utf8')) as FlaskPlaintexts;
  return { ...database, plaintexts, plaintextsPath };
}

/** What read_database.py reports after opening a database with the Flask app's models. */
export interface FlaskReadback {
  tables: string[];
  columns: Record<'user' | 'two_factor_auth', string[]>;
  counts: { users: number; twoFactor: { enabled: number; pending: number; disabled: number } };
  passwords: { checked: number; failed: number[] };
  backupCodes: { checked: number; failed: string[] };
  mismatches: string[];
  /** pyotp's codes for each recorded secret, at each of the requested times. */
  totp: Array<{ userId: number; codes: string[] }>;
  /** Where the app's own User.check_password / TwoFactorAuth.use_backup_code raised: `user 7 check_password: ValueError`. */
  appRaised: string[];
}

/**
 * Opens a database with the Flask app (Flask-SQLAlchemy models, werkzeug, pyotp) and checks it against the recorded
 * plaintexts: counts, passwords and backup codes (unless `skipSecrets`), and pyotp codes at `atUnixSeconds`.
 * @example const back = await readFlaskDatabase(flask, [1_700_000_000]); expect(back.passwords.failed).toEqual([]);
 */
export async function readFlaskDatabase(database: { url: string; plaintextsPath: string }, atUnixSeconds: number[] = [], options: { skipSecrets?: boolean } = {}): Promise<FlaskReadback> {
  const args = ['--url', database.url, '--plaintexts', database.plaintextsPath, ...atUnixSeconds.flatMap((at) => ['--at', String(at)])];
  if (options.skipSecrets) args.push('--skip-secrets');
  return JSON.parse(await runFlaskScript('read_database.py', args)) as FlaskReadback;
}
