/**
 * Threat: a lost or replaced key file used to be silently replaced by a new key; the server started and every TOTP
 * sign-in then answered 500 (issue 8). Rules: start-up refuses when a key id used by stored secrets is not configured,
 * naming the key file (or CREW_ENCRYPTION_KEY) and the id; no new key file is made beside encrypted secrets; `crew keys
 * rotate` moves every secret to the current key and everyone still signs in (OWASP ASVS 6.4.1/6.4.2 key management).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createDeps } from '../../src/deps.ts';
import { buildApp } from '../../src/http/build-app.ts';
import { ManualClock } from '../../src/lib/clock.ts';
import { SecretBox, keyIdOf } from '../../src/lib/secret-box.ts';
import { serve } from '../../src/main.ts';
import { MissingKeyError } from '../../src/modules/two-factor/encryption-keys.ts';
import { TwoFactorRepository } from '../../src/modules/two-factor/two-factor.repository.ts';
import { generateTotp } from '../../src/modules/two-factor/totp.ts';
import { TestClient } from '../http/app-harness.ts';
import { runCrew, SPAWN_TEST_TIMEOUT_MS } from '../helpers/run-crew.ts';
import { crewOnTty } from '../helpers/run-crew-tty.ts';
import { createMigratedDatabase, PG_ADMIN_URL, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';
import { createEnabledUser, type EnabledUser } from '../helpers/two-factor-fixtures.ts';
import type { OpenDatabase } from '../../src/db/open-database.ts';

const b64 = (key: Buffer) => key.toString('base64');

describe.each(TEST_DIALECTS)('encryption keys on %s', { timeout: SPAWN_TEST_TIMEOUT_MS }, (kind) => {
  let database: TestDatabase & { open: OpenDatabase };
  let keyA: Buffer;
  let users: EnabledUser[];
  const keyFile = () => `${database.url}.key`;

  /** Configures `keys` (first encrypts): the key file's lines on SQLite, CREW_ENCRYPTION_KEY on PostgreSQL; returns the env. */
  function configure(keys: Buffer[]): Record<string, string> {
    if (kind === 'sqlite') {
      writeFileSync(keyFile(), `${keys.map(b64).join('\n')}\n`, { mode: 0o600 });
      return { DATABASE_URL: database.url };
    }
    return { DATABASE_URL: database.url, CREW_ENCRYPTION_KEY: keys.map(b64).join(',') };
  }
  const source = () => (kind === 'sqlite' ? `the key file ${keyFile()}` : 'CREW_ENCRYPTION_KEY');
  const crew = (args: string[], env: Record<string, string>) => runCrew(args, { env, cwd: database.dir });

  beforeEach(async () => {
    database = await createMigratedDatabase(kind);
    keyA = randomBytes(32);
    configure([keyA]);
    const box = new SecretBox([keyA]);
    users = [];
    for (let i = 0; i < 5; i++) users.push(await createEnabledUser(database.open.db, { secretBox: box, clock: new ManualClock(new Date()) }));
    users.push(await createEnabledUser(database.open.db, { legacyPlainSecret: true, clock: new ManualClock(new Date()) }));
  });
  afterEach(async () => {
    await database.cleanup();
  });

  async function startServer(env: Record<string, string>) {
    return serve({ migrate: true, config: loadConfig({ ...env, PORT: '0', LOG_LEVEL: 'silent' }, database.dir), print: () => {}, handleSignals: false });
  }

  it.runIf(kind === 'sqlite')('a deleted key file stops start-up, naming the file and the key id, and no new key file is made', async () => {
    rmSync(keyFile());
    const error = await startServer({ DATABASE_URL: database.url }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MissingKeyError);
    expect((error as Error).message).toContain(`the key file ${keyFile()} is missing`);
    expect((error as Error).message).toContain(`key id ${keyIdOf(keyA)} (5 secret(s))`);
    expect(existsSync(keyFile())).toBe(false);
    // Through the CLI as an operator sees it: exit 1, the same message.
    const run = await crew(['serve'], { DATABASE_URL: database.url, PORT: '0' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`Error: the key file ${keyFile()} is missing`);
    expect(existsSync(keyFile())).toBe(false);
    // `crew migrate` (a migration may encrypt) refuses the same way instead of making a new key.
    const migrate = await crew(['migrate'], { DATABASE_URL: database.url });
    expect(migrate.code).toBe(1);
    expect(migrate.stderr).toContain(`Error: the key file ${keyFile()} is missing`);
    expect(existsSync(keyFile())).toBe(false);
  });

  it('a replaced key stops start-up, naming where keys come from and the missing key id', async () => {
    const env = configure([randomBytes(32)]);
    const error = await startServer(env).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MissingKeyError);
    expect((error as Error).message).toContain(`key id ${keyIdOf(keyA)} (5 secret(s)), which ${source()} does not hold`);
    const status = await crew(['keys', 'status'], env);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain(`✗ ${keyIdOf(keyA)}  MISSING     5 secret(s)`);
    expect(status.stderr).toContain(`which ${source()} does not hold`);
  });

  it('keys rotate leaves no secret under the old key, is re-runnable, and everyone still signs in', async () => {
    const keyB = randomBytes(32);
    const [idA, idB] = [keyIdOf(keyA), keyIdOf(keyB)];
    const env = configure([keyB, keyA]);
    const before = await crew(['keys', 'status', '--json'], env);
    expect(before.code, before.stderr).toBe(0);
    expect(JSON.parse(before.stdout).keys).toEqual([
      { keyId: idB, secrets: 0, current: true, configured: true },
      { keyId: idA, secrets: 5, current: false, configured: true },
      { keyId: null, secrets: 1, current: false, configured: true },
    ]);

    const rotate = await crew(['keys', 'rotate', '--batch-size', '2'], env);
    expect(rotate.code, rotate.stderr).toBe(0);
    expect(rotate.stdout).toContain('6 secret(s) to re-encrypt');
    expect(rotate.stdout).toContain('  6/6');
    expect(rotate.stdout).toContain(`✓ Re-encrypted 6 secret(s) under key ${idB}`);
    expect(rotate.stdout).toContain(`No secret uses ${idA} any more: you may remove the old key(s) from ${source()}`);
    expect(await new TwoFactorRepository(database.open.db).countSecretsByKeyId()).toEqual([{ keyId: idB, count: 6 }]);

    const again = await crew(['keys', 'rotate'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`✓ Every secret is already under the current key ${idB}`);

    // The old key removed: start-up accepts it, and every user signs in with a TOTP code.
    const onlyB = configure([keyB]);
    const server = await startServer(onlyB);
    await server.close();
    const open = database.open;
    const clock = new ManualClock(new Date());
    const app = await buildApp(createDeps(loadConfig(onlyB, database.dir), open, { clock, logger: false }));
    try {
      for (const user of users) {
        const c = new TestClient(app);
        expect((await c.json('POST', '/api/auth/login', { username: user.username, password: 'correct horse battery staple' })).json()).toEqual({ status: 'two_factor_required' });
        const res = await c.json('POST', '/api/auth/login/two-factor', { code: generateTotp(user.secret, clock.now()) });
        expect(res.statusCode, res.body).toBe(200);
      }
    } finally {
      await app.close();
    }
  });

  it('keys rotate on a terminal shows a progress bar', async () => {
    const keyB = randomBytes(32);
    const env = configure([keyB, keyA]);
    const run = crewOnTty(['keys', 'rotate', '--batch-size', '2'], env, []);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/Re-encrypting \[[█░]+\] 6\/6 secrets/);
    expect(run.output).toContain(`✓ Re-encrypted 6 secret(s) under key ${keyIdOf(keyB)}`);
  });

  it('a row re-enrolled while rotation works is left alone (compare-and-swap)', async () => {
    const keyB = randomBytes(32);
    const box = new SecretBox([keyB, keyA]);
    const repo = new TwoFactorRepository(database.open.db, box);
    const pending = await createEnabledUser(database.open.db, { secretBox: new SecretBox([keyA]), enabled: false });
    const batch = await repo.secretsNotUnderKey(box.currentKeyId, 0, 100);
    const target = batch.find((r) => r.id === Math.max(...batch.map((b) => b.id)))!; // the pending user's row, made last
    // A running server re-enrols the pending user between our read and our write.
    expect(await repo.savePendingSecret(pending.userId, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', Date.now())).toBe(true);
    expect(await repo.reencryptSecret(target)).toBe(false);
    const record = await repo.findByUserId(pending.userId);
    expect(repo.revealSecret(record!)).toBe('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
  });

  it('keys rotate and keys status on a missing database exit 1 and create nothing', async () => {
    const url = kind === 'sqlite' ? join(database.dir, 'typo.db') : Object.assign(new URL(PG_ADMIN_URL), { pathname: `/crew_missing_${process.pid}` }).toString();
    for (const args of [['keys', 'status'], ['keys', 'rotate']]) {
      const run = await crew(args, { DATABASE_URL: url, CREW_ENCRYPTION_KEY: b64(keyA) });
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr, args.join(' ')).toContain(`Error: no database at ${url}`);
    }
    if (kind === 'sqlite') expect(existsSync(url)).toBe(false);
  });
});
