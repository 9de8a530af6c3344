import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createDeps } from '../../src/deps.ts';
import { openDatabase, type OpenDatabase } from '../../src/db/open-database.ts';
import { buildApp } from '../../src/http/build-app.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { generateTotp } from '../../src/modules/two-factor/totp.ts';
import { makeFlaskDatabase, readFlaskDatabase, type FlaskDatabase, type FlaskUserRecord } from '../helpers/flask-database.ts';
import { ROOT, runCrew } from '../helpers/run-crew.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { postCode } from '../helpers/two-factor-fixtures.ts';
import { GOOD_PASSWORD, TestClient } from './app-harness.ts';

// Issue 7's "done when", through the JSON API, on a database made by the Flask app's own stack and then `crew migrate`
// (the shipped CLI): every Flask user signs in with the old password, 2FA users then with pyotp's code for the old
// secret; old backup codes work once; hashes become argon2id; a new sign-up gets a fresh id, nobody's 2FA, and can
// enrol; a Flask username cannot be registered again in any case; a second `crew migrate` does nothing.

const SLOW = 900_000; // Python, werkzeug's real KDF costs (up to 1,000,000 PBKDF2 rounds, scrypt) and argon2id on a busy shared machine

describe.each(TEST_DIALECTS)('the Flask app\'s users after crew migrate (%s)', { timeout: SLOW }, (kind) => {
  let flask: FlaskDatabase;
  let open: OpenDatabase;
  let app: FastifyInstance;
  let clock: ManualClock;
  let pyotpCodes: Map<number, string>;
  let migrateOutput: string;
  const env: Record<string, string> = { CREW_ENCRYPTION_KEY: randomBytes(32).toString('base64'), CREW_AUTH_RATE_LIMIT: '100000/minute' };

  beforeAll(async () => {
    flask = await makeFlaskDatabase(kind);
    env.DATABASE_URL = flask.url;
    // The codes pyotp itself computes from the secrets the Flask app stored, at one instant the app's clock is set to.
    const at = Math.floor(Date.now() / 1000);
    pyotpCodes = new Map((await readFlaskDatabase(flask, [at], { skipSecrets: true })).totp.map(({ userId, codes }) => [userId, codes[0]!]));
    const migrated = await runCrew(['migrate'], { env, cwd: flask.dir });
    expect(migrated.code, migrated.stdout + migrated.stderr).toBe(0);
    migrateOutput = migrated.stdout;
    expect(migrated.stdout).toContain(`✓ adopted ${flask.plaintexts.counts.users} user(s) from the Flask "user" table`);
    const config = loadConfig(env, flask.dir);
    open = await openDatabase(config.database);
    clock = new ManualClock(new Date(at * 1000));
    app = await buildApp(createDeps(config, open, { clock, logger: false }));
    await app.ready();
  }, SLOW);

  afterAll(async () => {
    await app?.close();
    await open?.close();
    await flask?.cleanup();
  }, SLOW);

  async function signInWithPassword(user: Pick<FlaskUserRecord, 'username' | 'password'>): Promise<{ c: TestClient; status: string }> {
    const c = new TestClient(app);
    const res = await c.json('POST', '/api/auth/login', { username: user.username, password: user.password });
    expect(res.statusCode, `${user.username}: ${res.body}`).toBe(200);
    return { c, status: res.json().status };
  }

  const enabled = () => flask.plaintexts.users.filter((u) => u.twoFactor?.state === 'enabled');

  it('crew migrate printed what docs/MIGRATION_GUIDE.md "Moving from the Flask app" shows', () => {
    const guide = readFileSync(join(ROOT, 'docs', 'MIGRATION_GUIDE.md'), 'utf8');
    const block = /^```\n\$ DATABASE_URL=\S+ npx crew migrate\n([\s\S]*?)^```$/m.exec(guide)?.[1];
    expect(block).toBeDefined();
    const squeeze = (text: string) => text.trimEnd().split('\n').map((line) => line.replace(/\s+/g, ' ').trimEnd());
    const expected = squeeze(block!);
    const actual = squeeze(migrateOutput);
    // `…` in the guide stands for any lines (zero or more).
    const matches = (e: string[], a: string[]): boolean => {
      const [first, ...rest] = e;
      if (first === undefined) return a.length === 0;
      if (first === '…') return a.some((_, i) => matches(rest, a.slice(i))) || matches(rest, []);
      return a[0] === first && matches(rest, a.slice(1));
    };
    expect(matches(expected, actual), `guide:\n${expected.join('\n')}\n\nactual:\n${actual.join('\n')}`).toBe(true);
  });

  it('three users each sign in with an old backup code, once only', async () => {
    const withCodes = enabled().filter((u) => u.twoFactor!.backupCodes.length > 0);
    // Different werkzeug methods for the codes: the bulk pbkdf2:sha256:1000, salted sha256 and salted sha1.
    const chosen = ['pbkdf2:sha256:1000', 'sha256', 'sha1'].map((method) => withCodes.find((u) => u.twoFactor!.backupCodeMethod === method)!);
    for (const user of chosen) {
      const code = user.twoFactor!.backupCodes.at(-1)!;
      const first = await signInWithPassword(user);
      expect(first.status).toBe('two_factor_required');
      const used = await postCode(first.c, code);
      expect(used.statusCode, used.body).toBe(200);
      expect(used.json()).toMatchObject({ status: 'authenticated', backupCodesRemaining: user.twoFactor!.backupCodes.length - 1 });
      const me = await first.c.json('GET', '/api/me');
      expect(me.json()).toMatchObject({ user: { id: user.id, username: user.username }, twoFactor: { enabled: true, backupCodesRemaining: user.twoFactor!.backupCodes.length - 1 } });
      const again = await signInWithPassword(user);
      const reused = await postCode(again.c, code);
      expect(reused.statusCode, reused.body).toBe(401);
    }
  });

  it('every Flask user signs in with the old password, 2FA users then with pyotp\'s code; hashes become argon2id', async () => {
    const failures: string[] = [];
    for (const user of flask.plaintexts.users) {
      const { c, status } = await signInWithPassword(user);
      if (user.twoFactor?.state === 'enabled') {
        if (status !== 'two_factor_required') failures.push(`${user.id}: ${status}`);
        const res = await postCode(c, pyotpCodes.get(user.id));
        if (res.statusCode !== 200) failures.push(`${user.id} (${user.passwordHashMethod}): code ${res.statusCode} ${res.body}`);
      } else if (status !== 'authenticated') failures.push(`${user.id}: ${status}`);
      const me = await c.json('GET', '/api/me');
      if (me.json().user?.id !== user.id) failures.push(`${user.id}: /api/me says ${me.body}`);
    }
    expect(failures).toEqual([]);
    const hashes = await open.db.selectFrom('users').select(['id', 'password_hash']).execute();
    expect(hashes.filter((u) => !u.password_hash.startsWith('$argon2id$')).map((u) => u.id)).toEqual([]);
    // And the password still works after the upgrade.
    expect((await signInWithPassword(flask.plaintexts.users[10]!)).status).toMatch(/authenticated|two_factor_required/);
  });

  it('a new sign-up gets a fresh id and no one\'s 2FA, and can enrol; Flask usernames are taken in any case', async () => {
    const c = new TestClient(app);
    const registered = await c.json('POST', '/api/auth/register', { username: 'newcomer', password: GOOD_PASSWORD });
    expect(registered.statusCode, registered.body).toBe(201);
    expect(registered.json().user.id).toBe(flask.plaintexts.counts.ids + 1);
    expect((await c.json('GET', '/api/2fa/status')).json()).toMatchObject({ enabled: false, backupCodesRemaining: 0 });
    const setup = await c.json('POST', '/api/2fa/setup', { password: GOOD_PASSWORD });
    expect(setup.statusCode, setup.body).toBe(200);
    const enable = await c.json('POST', '/api/2fa/enable', { code: generateTotp(setup.json().secret, clock.now()) });
    expect(enable.statusCode, enable.body).toBe(200);
    expect(enable.json().backupCodes).toHaveLength(10);

    // Registration lowercases names; every Flask name that is a valid crew name, in any case, is taken.
    const valid = flask.plaintexts.users.map((u) => u.username).filter((name) => /^[a-z0-9][a-z0-9._-]{2,31}$/.test(name.toLowerCase()));
    expect(valid.length).toBeGreaterThan(10);
    for (const name of valid) {
      for (const typed of [name, name.toUpperCase(), name.toLowerCase()]) {
        const res = await new TestClient(app).json('POST', '/api/auth/register', { username: typed, password: GOOD_PASSWORD });
        expect(res.statusCode, `${typed}: ${res.body}`).toBe(409);
      }
    }
  });

  it('a second crew migrate is a no-op', async () => {
    const again = await runCrew(['migrate'], { env, cwd: flask.dir });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/All \d+ migration\(s\) are already applied; nothing to do\./);
  });

  it('crew migrate adopt_flask_users --rollback hands the Flask app a database it uses: old passwords, pyotp codes, backup codes', async () => {
    const back = await runCrew(['migrate', 'adopt_flask_users', '--rollback', '--yes'], { env, cwd: flask.dir });
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(back.stdout).toContain('✓ 1 user(s) created in crew copied to "user"');
    const at = Math.floor(clock.now().getTime() / 1000) + 300;
    const read = await readFlaskDatabase(flask, [at]);
    expect(read.counts.users).toBe(flask.plaintexts.counts.users + 1); // and the newcomer
    expect(read.passwords.failed).toEqual([]); // the "user" table kept every werkzeug hash
    expect(read.mismatches.filter((m) => !/2FA row differs/.test(m))).toEqual([]);
    // The three codes used in crew are gone in Flask too (the list is shared), so only those are reported as refused.
    expect(read.backupCodes.failed).toHaveLength(3);
    for (const { userId, codes } of read.totp) expect(codes[0], `user ${userId}`).toBe(generateTotp(flask.plaintexts.users.find((u) => u.id === userId)!.twoFactor!.secret, new Date(at * 1000)));
  });
});
