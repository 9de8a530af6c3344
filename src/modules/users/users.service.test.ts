import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.ts';
import { createMigratedDatabase, TEST_DIALECTS } from '../../../test/helpers/test-database.ts';
import { askWerkzeug } from '../../../test/helpers/werkzeug-hash.ts';
import { UsersService } from './users.service.ts';
import { normalizeUsername } from './username.ts';

const PASSWORD = 'correct horse battery staple';

describe('normalizeUsername', () => {
  it('trims and lowercases valid names and refuses others', () => {
    expect(normalizeUsername('  Alice.B ')).toBe('alice.b');
    expect(normalizeUsername('ab')).toBeNull();
    expect(normalizeUsername('a'.repeat(33))).toBeNull();
    expect(normalizeUsername('bad name')).toBeNull();
    expect(normalizeUsername('-dash')).toBeNull();
  });
});

describe.each(TEST_DIALECTS)('UsersService on %s', (kind) => {
  let database: Awaited<ReturnType<typeof createMigratedDatabase>>;
  let users: UsersService;

  beforeAll(async () => {
    database = await createMigratedDatabase(kind);
    users = new UsersService({ db: database.open.db, clock: new ManualClock(), csrfKey: randomBytes(32) });
  });
  afterAll(() => database.cleanup());

  it('creates a user with an argon2id hash and records the event', async () => {
    const user = await users.createUser({ username: 'Alice', password: PASSWORD, email: 'alice@example.com' });
    expect(user).toMatchObject({ username: 'alice', email: 'alice@example.com', role: 'user' });
    expect(user.createdAt).toBeInstanceOf(Date);
    expect(Number.isNaN(user.createdAt!.getTime())).toBe(false);
    const row = await database.open.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const events = await database.open.db.selectFrom('security_events').select('type').where('user_id', '=', user.id).execute();
    expect(events.map((e) => e.type)).toEqual(['register']);
  });

  it('refuses a duplicate username, ignoring case (409)', async () => {
    await expect(users.createUser({ username: 'ALICE', password: PASSWORD })).rejects.toMatchObject({ code: 'username_taken', statusCode: 409 });
  });

  it('refuses bad usernames, e-mails and passwords with the field named', async () => {
    await expect(users.createUser({ username: 'x', password: PASSWORD })).rejects.toMatchObject({ code: 'invalid_input', extra: { details: { field: 'username' } } });
    await expect(users.createUser({ username: 'bob', password: PASSWORD, email: 'nope' })).rejects.toMatchObject({ extra: { details: { field: 'email' } } });
    await expect(users.createUser({ username: 'bob', password: 'short' })).rejects.toMatchObject({ extra: { details: { field: 'password', reason: 'too_short' } } });
    await expect(users.createUser({ username: 'bob', password: 'password123' })).rejects.toMatchObject({ extra: { details: { field: 'password', reason: 'too_common' } } });
    const count = await database.open.db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where('username', '=', 'bob').executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(0);
  });

  it('verifies passwords; unknown users and wrong passwords both give null', async () => {
    expect((await users.verifyPassword('alice', PASSWORD))?.username).toBe('alice');
    expect((await users.verifyPassword('ALICE', PASSWORD))?.username).toBe('alice');
    expect(await users.verifyPassword('alice', 'wrong password here')).toBeNull();
    expect(await users.verifyPassword('nobody', PASSWORD)).toBeNull();
  });

  // Users adopted from the Flask app keep its Werkzeug hashes; the first correct sign-in stores argon2id instead
  // (OWASP Password Storage Cheat Sheet: upgrade on login). A wrong password changes nothing.
  it('accepts an adopted Werkzeug hash of every format and re-hashes it to argon2id on the first correct sign-in', async () => {
    const hashOf = async (username: string) =>
      (await database.open.db.selectFrom('users').select('password_hash').where('username', '=', username).executeTakeFirstOrThrow()).password_hash;
    const formats = [['Legacy_Pbkdf2', 'pbkdf2:sha256:1000', 'q8Zk3VbN0pLw7XyR'], ['Legacy_Scrypt', 'scrypt:32768:8:1', 'q8Zk3VbN0pLw7XyR'], ['Legacy_Hmac', 'sha256', 'q8Zk3VbN'], ['Legacy_Md5', 'md5', ''], ['Legacy_Plain', 'plain', '']] as const;
    const made = (await askWerkzeug({ hash: formats.map(([, method, salt]) => [PASSWORD, method, salt] as [string, string, string]) })).hash;
    for (const [index, [username]] of formats.entries()) {
      const legacy = made[index]!;
      await database.open.db.insertInto('users').values({ username, email: null, password_hash: legacy }).execute();

      expect(await users.verifyPassword(username.toLowerCase(), 'wrong password here')).toBeNull();
      expect(await hashOf(username)).toBe(legacy);

      expect((await users.verifyPassword(username.toLowerCase(), PASSWORD))?.username).toBe(username);
      const upgraded = await hashOf(username);
      expect(upgraded).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect((await users.verifyPassword(username, PASSWORD))?.username).toBe(username);
      expect(await hashOf(username)).toBe(upgraded); // argon2id is kept as it is
    }
  }, 600_000); // one Python run and a dozen key derivations: generous for a loaded shared machine, never asserted
});
