import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openDatabase, type OpenDatabase } from '../../src/db/open-database.ts';
import { runnerFromConfig } from '../../src/migrate/runner-from-config.ts';
import { hashSecret, verifySecret } from '../../src/lib/password-hash.ts';
import { SecretBox } from '../../src/lib/secret-box.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { UsersService } from '../../src/modules/users/users.service.ts';
import { generateBackupCodes, hashBackupCodes } from '../../src/modules/two-factor/backup-codes.ts';
import { generateTotp, generateTotpSecret } from '../../src/modules/two-factor/totp.ts';
import { systemRandom } from '../../src/lib/random.ts';
import { makeFlaskDatabase, readFlaskDatabase, type FlaskDatabase, type FlaskPlaintexts } from '../helpers/flask-database.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';

// Issue 7: `crew migrate` on the Flask app's database adopts its `user` table (ids kept, 2FA rows stay with their
// owners, later ids above the adopted ones, two_factor_auth pointing at users), fails listing anything it must not
// merge, and rolls back to a database the Flask app itself (Flask-SQLAlchemy, werkzeug, pyotp) opens and uses.

const SLOW = 600_000; // spawns Python and derives keys on a busy shared machine; never a time we assert

describe.each(TEST_DIALECTS)('0007_adopt_flask_users on %s', (kind) => {
  let flask: FlaskDatabase | undefined;
  let open: OpenDatabase | undefined;
  const key = randomBytes(32);
  afterEach(async () => {
    await open?.close();
    await flask?.cleanup();
    open = flask = undefined;
  }, SLOW);

  async function setUp(options: { caseClash?: boolean } = {}) {
    flask = await makeFlaskDatabase(kind, { caseClash: options.caseClash ?? false });
    open = await openDatabase(flask.config);
    const config = loadConfig({ DATABASE_URL: flask.url, CREW_ENCRYPTION_KEY: key.toString('base64') }, flask.dir);
    const runner = runnerFromConfig(open, config, { backup: false });
    return { flask, open, runner, db: open.db as Kysely<any> };
  }

  async function twoFactorParent(db: Kysely<any>): Promise<string> {
    if (kind === 'postgres') {
      const r = await sql<{ parent: string }>`SELECT confrelid::regclass::text AS parent FROM pg_constraint WHERE contype = 'f' AND conrelid = 'two_factor_auth'::regclass`.execute(db);
      return r.rows.map((row) => row.parent.replace(/"/g, '')).join(',');
    }
    const r = await sql<{ table: string }>`SELECT "table" FROM pragma_foreign_key_list('two_factor_auth')`.execute(db);
    return r.rows.map((row) => row.table).join(',');
  }

  it('adopts every Flask user with its id, reports what it found, and points two_factor_auth at users', async () => {
    const { flask, db, runner } = await setUp();
    const report = await runner.migrate();
    expect(report.ok, report.lines.join('\n')).toBe(true);
    const result = report.results.find((r) => r.id === '0007_adopt_flask_users')!;
    expect(result.status).toBe('applied');
    const { counts } = flask.plaintexts;
    const text = result.lines.join('\n');
    expect(text).toContain(`✓ adopted ${counts.users} user(s) from the Flask "user" table, keeping their ids; new ids continue above ${counts.ids}`);
    expect(text).toMatch(/password hash formats: pbkdf2:sha256 ×\d+, scrypt ×2, /);
    for (const format of ['pbkdf2:sha512 ×1', 'salted sha256 ×1', 'unsalted md5 ×1', 'plain ×1']) expect(text).toContain(format);
    expect(text).toContain(`two_factor_auth rows: ${counts.twoFactor.enabled} enabled, ${counts.twoFactor.pending} pending, ${counts.twoFactor.disabled} disabled`);
    const legacyEnabled = flask.plaintexts.users.filter((u) => u.twoFactor?.state === 'enabled').reduce((n, u) => n + u.twoFactor!.backupCodes.length, 0);
    expect(text).toContain(`legacy backup codes kept: ${legacyEnabled} of users with 2FA enabled`);
    expect(text).toContain('✓ two_factor_auth.user_id now references users(id)');

    const users = await db.selectFrom('users').select(['id', 'username', 'email', 'password_hash', 'created_at']).orderBy('id').execute();
    expect(users.map((u) => [Number(u.id), u.username, u.email])).toEqual(flask.plaintexts.users.map((u) => [u.id, u.username, u.email]));
    const flaskRows = await sql<{ id: number; password_hash: string }>`SELECT id, password_hash FROM ${sql.table('user')} ORDER BY id`.execute(db);
    expect(users.map((u) => u.password_hash)).toEqual(flaskRows.rows.map((u) => u.password_hash)); // the "user" table is untouched
    expect(users.every((u) => u.created_at !== null)).toBe(true);
    expect(await twoFactorParent(db)).toBe('users');

    // The next sign-up continues above the highest adopted id, and no one's 2FA row is waiting for it.
    const fresh = await db.insertInto('users').values({ username: 'newcomer', email: null, password_hash: 'x' }).returning('id').executeTakeFirstOrThrow();
    expect(Number(fresh.id)).toBe(counts.ids + 1);
    expect(await db.selectFrom('two_factor_auth').select('id').where('user_id', '=', fresh.id).execute()).toEqual([]);
    // A Flask username in another case is refused by the database itself (the unique index on lower(username)).
    await expect(db.insertInto('users').values({ username: flask.plaintexts.users[0]!.username.toLowerCase(), email: null, password_hash: 'x' }).execute()).rejects.toThrow(/unique|UNIQUE/);
    // Deleting an adopted user now takes its 2FA row with it (crew's ON DELETE CASCADE), on both engines.
    const withTwoFactor = flask.plaintexts.users.find((u) => u.twoFactor)!;
    await db.deleteFrom('users').where('id', '=', withTwoFactor.id).execute();
    expect(await db.selectFrom('two_factor_auth').select('id').where('user_id', '=', withTwoFactor.id).execute()).toEqual([]);

    const again = await runner.migrate();
    expect(again.ok).toBe(true);
    expect(again.results).toEqual([]); // a second run is a no-op
    expect((await runner.verify()).ok).toBe(true);
  }, SLOW);

  it('a Flask user with a non-ASCII name signs in by that name (the same SQL lower() on both sides, on each engine)', async () => {
    const { db, runner } = await setUp();
    await sql`INSERT INTO ${sql.table('user')} (id, username, password_hash) VALUES (5000, 'Łukasz Żółć', 'plain$$zażółć gęślą jaźń')`.execute(db);
    expect((await runner.migrate()).ok).toBe(true);
    const users = new UsersService({ db: db as never, clock: new ManualClock(new Date()), csrfKey: randomBytes(32) });
    expect((await users.verifyPassword('Łukasz Żółć', 'zażółć gęślą jaźń'))?.id).toBe(5000);
    expect((await users.verifyPassword('  Łukasz Żółć ', 'zażółć gęślą jaźń'))?.id).toBe(5000);
    expect(await users.verifyPassword('Łukasz Żółć', 'wrong')).toBeNull();
  }, SLOW);

  it('fails listing usernames that differ only by case, and changes nothing', async () => {
    const { flask, db, runner } = await setUp({ caseClash: true });
    const report = await runner.migrate();
    expect(report.ok).toBe(false);
    const failed = report.results.find((r) => r.status === 'failed')!;
    expect(failed.id).toBe('0007_adopt_flask_users');
    const [first, clash] = flask.plaintexts.caseClash!;
    const name = (id: number) => flask.plaintexts.users.find((u) => u.id === id)!.username;
    expect(failed.error).toContain(`differ only by case: [${first}] ${JSON.stringify(name(first))}, [${clash}] ${JSON.stringify(name(clash))}`);
    expect(await db.selectFrom('users').select('id').execute()).toEqual([]);
    expect(await twoFactorParent(db)).toBe('user');
  }, SLOW);

  it('fails listing crew sign-ups that clash with Flask users by id or name (an older crew ran here), and loses nothing', async () => {
    const { flask, db, runner } = await setUp();
    for (const target of ['users', '2fa', 'sessions', 'security_events', '2fa_replay_and_lockout', 'encrypt_legacy_secrets']) expect((await runner.migrate({ target })).ok).toBe(true);
    // What the buggy older crew did: sign-ups from id 1, one of them taking a Flask name in lower case.
    await db.insertInto('users').values({ username: 'bob', email: null, password_hash: 'x' }).execute();
    const taken = flask.plaintexts.users.find((u) => u.id > 5)!;
    await db.insertInto('users').values({ id: 9999, username: taken.username.toLowerCase(), email: null, password_hash: 'y' }).execute();
    const report = await runner.migrate();
    expect(report.ok).toBe(false);
    const error = report.results.find((r) => r.status === 'failed')!.error!;
    expect(error).toContain(`users [1] "bob" vs "user" [1] ${JSON.stringify(flask.plaintexts.users[0]!.username)}`);
    expect(error).toContain(`users [9999] ${JSON.stringify(taken.username.toLowerCase())} vs "user" [${taken.id}] ${JSON.stringify(taken.username)}`);
    expect((await db.selectFrom('users').select('username').orderBy('id').execute()).map((u) => u.username)).toEqual(['bob', taken.username.toLowerCase()]);
    expect(await twoFactorParent(db)).toBe('user');
  }, SLOW);

  it('fails listing 2FA rows whose user is gone (Flask never enforced foreign keys on SQLite), and changes nothing', async () => {
    const { db, runner } = await setUp();
    const orphan = "INSERT INTO two_factor_auth (user_id, secret, enabled) VALUES (7777, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', false)";
    if (kind === 'postgres') {
      await sql`ALTER TABLE two_factor_auth DROP CONSTRAINT two_factor_auth_user_id_fkey`.execute(db); // what a hand-made schema may lack
      await sql.raw(orphan).execute(db);
    } else {
      const flaskLike = new BetterSqlite3(flask!.url); // as SQLAlchemy connects: foreign keys off, SQLite's default
      flaskLike.pragma('foreign_keys = OFF'); // better-sqlite3 builds switch them on by default; Python's sqlite3 does not
      flaskLike.exec(orphan);
      flaskLike.close();
    }
    const report = await runner.migrate();
    expect(report.ok).toBe(false);
    expect(report.results.find((r) => r.status === 'failed')!.error).toContain('two_factor_auth has rows for users that exist in neither "user" nor users (user_id 7777)');
    expect(await db.selectFrom('users').select('id').execute()).toEqual([]);
  }, SLOW);

  it('refuses to roll back when the Flask app gave an id crew also gave to someone else, and changes nothing', async () => {
    const { flask, db, runner } = await setUp();
    expect((await runner.migrate()).ok).toBe(true);
    const crewUser = await db.insertInto('users').values({ username: 'newcomer', email: null, password_hash: 'x' }).returning('id').executeTakeFirstOrThrow();
    // The old app kept running and signed someone up: the next id in "user" is the one crew just gave away.
    await sql`INSERT INTO ${sql.table('user')} (id, username, password_hash) VALUES (${crewUser.id}, 'flask-signup', 'plain$$pw')`.execute(db);
    await expect(runner.rollback('adopt_flask_users')).rejects.toThrow(`[${crewUser.id}] users "newcomer" vs "user" "flask-signup"`);
    expect(Number((await db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)).toBe(flask.plaintexts.counts.users + 1);
    expect(await twoFactorParent(db)).toBe('users');
  }, SLOW);

  it('rolls back to a database the Flask app uses: secrets in base32, 2FA pointing at "user", crew sign-ups copied; and adopts again', async () => {
    const { flask, db, runner } = await setUp();
    expect((await runner.migrate()).ok).toBe(true);
    const box = new SecretBox([key]);
    // A user who signed up in crew and enrolled, with crew's argon2id password and backup-code hashes.
    const secret = generateTotpSecret(systemRandom);
    const codes = generateBackupCodes(systemRandom);
    const crewUser = await db.insertInto('users').values({ username: 'newcomer', email: 'newcomer@example.com', password_hash: await hashSecret('a crew password 42') }).returning('id').executeTakeFirstOrThrow();
    const crewId = Number(crewUser.id);
    await db.insertInto('two_factor_auth').values({ user_id: crewId, secret: box.encrypt(secret), enabled: 1, backup_codes: JSON.stringify(await hashBackupCodes(codes)) }).execute();
    await db.insertInto('sessions').values({ id: 'x'.repeat(64), user_id: crewId, state: 'authenticated', csrf_token: 't', created_at_ms: 1, last_seen_at_ms: 1, expires_at_ms: 2 }).execute();
    const storedSecrets = await db.selectFrom('two_factor_auth').select('secret').execute();
    expect(storedSecrets.every((r) => SecretBox.isEnvelope(r.secret))).toBe(true);

    const back = await runner.rollback('adopt_flask_users');
    expect(back.ok, back.lines.join('\n')).toBe(true);
    const text = back.lines.join('\n');
    expect(text).toContain(`secret(s) decrypted to base32`);
    expect(text).toContain('✓ 1 user(s) created in crew copied to "user"');
    expect(await twoFactorParent(db)).toBe('user');
    expect(await db.selectFrom('users').select('id').execute()).toEqual([]);

    // Flask itself reads it: every recorded password and backup code by werkzeug, secrets by pyotp; plus the crew user.
    const withCrewUser: FlaskPlaintexts = {
      ...flask.plaintexts,
      counts: { ...flask.plaintexts.counts, users: flask.plaintexts.counts.users + 1, twoFactor: { ...flask.plaintexts.counts.twoFactor, enabled: flask.plaintexts.counts.twoFactor.enabled + 1 } },
      users: [
        ...flask.plaintexts.users,
        {
          id: crewId, username: 'newcomer', email: 'newcomer@example.com', password: 'a crew password 42', passwordHashFormat: 'argon2id', passwordHashMethod: 'argon2id',
          // crew's codes are argon2id: Flask must refuse them (not crash), so they are recorded as spent.
          twoFactor: { state: 'enabled', secret, backupCodes: [], spentBackupCodes: codes, backupCodeMethod: null },
        },
      ],
    };
    const recordPath = `${flask.plaintextsPath}.with-crew-user.json`;
    writeFileSync(recordPath, JSON.stringify(withCrewUser));
    const at = Math.floor(Date.now() / 1000);
    const read = await readFlaskDatabase({ url: flask.url, plaintextsPath: recordPath }, [at]);
    expect(read.mismatches).toEqual([]);
    expect(read.counts).toEqual({ users: withCrewUser.counts.users, twoFactor: withCrewUser.counts.twoFactor });
    expect(read.passwords.failed).toEqual([crewId]); // werkzeug cannot check argon2id: that user resets the password in Flask
    expect(read.backupCodes.failed).toEqual([]);
    // The app's own checks answer (never raise) for every user but the scrypt ones, which werkzeug 2.2 never could read.
    const scrypt = new Set(flask.plaintexts.users.filter((u) => u.passwordHashFormat === 'scrypt').map((u) => `user ${u.id} check_password: ValueError`));
    expect(read.appRaised.filter((line) => !scrypt.has(line))).toEqual([]);
    for (const { userId, codes: [code] } of read.totp) {
      const recorded = withCrewUser.users.find((u) => u.id === userId)!.twoFactor!.secret;
      expect(code, `user ${userId}`).toBe(generateTotp(recorded, new Date(at * 1000)));
    }
    expect(read.totp).toHaveLength(withCrewUser.users.filter((u) => u.twoFactor).length);

    // And crew adopts it all again: ids, the crew user's argon2id hash (unwrapped) and backup codes.
    const again = await runner.migrate();
    expect(again.ok, again.lines.join('\n')).toBe(true);
    const row = await db.selectFrom('users').select(['password_hash']).where('id', '=', crewId).executeTakeFirstOrThrow();
    expect(await verifySecret(row.password_hash, 'a crew password 42')).toBe(true);
    const tfa = await db.selectFrom('two_factor_auth').select(['backup_codes']).where('user_id', '=', crewId).executeTakeFirstOrThrow();
    expect((JSON.parse(tfa.backup_codes!) as string[]).every((h) => h.startsWith('$argon2id$'))).toBe(true);
    expect(Number((await db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)).toBe(withCrewUser.counts.users);
    expect(await twoFactorParent(db)).toBe('users');
  }, SLOW);
});
