import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open-database.ts';
import { runCrew, SPAWN_TEST_TIMEOUT_MS } from '../helpers/run-crew.ts';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';

describe.each(TEST_DIALECTS)('operator commands on %s', { timeout: SPAWN_TEST_TIMEOUT_MS }, (kind) => {
  let test: TestDatabase;
  const env = () => ({ DATABASE_URL: test.url, CREW_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64') });
  beforeEach(async () => {
    test = await createTestDatabase(kind);
    expect((await runCrew(['migrate'], { env: env() })).code).toBe(0);
  });
  afterEach(async () => {
    await test.cleanup();
  });

  it('creates users from stdin, refuses weak passwords and duplicates, lists them', async () => {
    const created = await runCrew(['users', 'create', 'Ada', '--admin', '--email', 'ada@example.com'], { env: env(), input: 'correct horse battery staple\n' });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('✓ Created user ada (id 1, admin)');
    const weak = await runCrew(['users', 'create', 'bob'], { env: env(), input: 'password\n' });
    expect(weak.code).toBe(1);
    expect(weak.stderr).toContain('too common');
    const dup = await runCrew(['users', 'create', 'ada'], { env: env(), input: 'another long passphrase\n' });
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('That username is taken');
    const list = JSON.parse((await runCrew(['users', 'list', '--json'], { env: env() })).stdout);
    expect(list.users).toEqual([{ id: 1, username: 'ada', email: 'ada@example.com', role: 'admin', twoFactorEnabled: false }]);
  });

  it('shows and resets a user\'s two-factor set-up, with confirmation', async () => {
    await runCrew(['users', 'create', 'ada'], { env: env(), input: 'correct horse battery staple\n' });
    const open = await openDatabase(test.config);
    try {
      await open.db.insertInto('two_factor_auth').values({ user_id: 1, secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', enabled: 1, backup_codes: JSON.stringify(['$argon2id$a', '$argon2id$b', '$argon2id$c', 'flask-plain-code']) }).execute();
      const now = Date.now();
      await open.db.insertInto('sessions').values({ id: 'a'.repeat(64), user_id: 1, state: 'authenticated', csrf_token: 'c', created_at_ms: now, last_seen_at_ms: now, expires_at_ms: now + 60_000 }).execute();
    } finally {
      await open.close();
    }
    const status = await runCrew(['2fa', 'status', 'ada', '--json'], { env: env() });
    // Only argon2 hashes count: an entry in the Flask app's own format can never match a code (docs/SECURITY.md).
    expect(JSON.parse(status.stdout)).toMatchObject({ username: 'ada', enabled: true, backupCodesRemaining: 3 });
    const refused = await runCrew(['2fa', 'reset', 'ada'], { env: env() });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('pass --yes');
    const reset = await runCrew(['2fa', 'reset', 'ada', '--yes'], { env: env() });
    expect(reset.code).toBe(0);
    expect(reset.stdout).toContain('Two-factor authentication removed for ada; 1 session(s) signed out');
    expect(JSON.parse((await runCrew(['2fa', 'status', 'ada', '--json'], { env: env() })).stdout)).toMatchObject({ enabled: false });
    const unknown = await runCrew(['2fa', 'status', 'nobody'], { env: env() });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No user named "nobody"');
  });
});
