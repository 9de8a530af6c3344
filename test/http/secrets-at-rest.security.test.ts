/**
 * Threats: a copied database file or a log aggregator leaking credentials. After enrolment the database must hold
 * neither the TOTP secret nor any backup code nor a session token (only an AES-GCM envelope, argon2id hashes and a
 * SHA-256), and no log line may contain a password, code, secret, token or cookie.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/http/logger.ts';
import { generateTotp } from '../../src/modules/two-factor/totp.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { GOOD_PASSWORD, TestClient, createTestApp, type TestApp } from './app-harness.ts';

describe.each(TEST_DIALECTS)('secrets at rest and in logs on %s', (kind) => {
  let t: TestApp;
  const logLines: string[] = [];
  let secret = '';
  let backupCodes: string[] = [];
  let sessionToken = '';
  let enableCode = '';

  beforeAll(async () => {
    const logger = createLogger({ logLevel: 'trace' }, { write: (line: string) => void logLines.push(line) });
    t = await createTestApp(kind, {}, logger);
    const c = new TestClient(t.app);
    await c.json('POST', '/api/auth/register', { username: 'pia', password: GOOD_PASSWORD });
    sessionToken = c.cookies.get('crew_session')!;
    await c.json('POST', '/api/auth/login', { username: 'pia', password: 'a wrong password' }); // logged refusal
    secret = (await c.json('POST', '/api/2fa/setup', { password: GOOD_PASSWORD })).json().secret;
    enableCode = generateTotp(secret, t.clock.now());
    backupCodes = (await c.json('POST', '/api/2fa/enable', { code: enableCode })).json().backupCodes;
    expect(backupCodes).toHaveLength(10);
  });
  afterAll(() => t.close());

  const forbidden = () => [secret, GOOD_PASSWORD, 'a wrong password', sessionToken, ...backupCodes, ...backupCodes.map((c) => c.replace('-', ''))];

  it('the database dump contains neither the base32 secret nor any backup code nor the session token', async () => {
    let dump: string;
    if (kind === 'sqlite') {
      const path = t.database.open.adapter.databaseFile!;
      dump = execFileSync('sqlite3', [path, '.dump'], { encoding: 'utf8' });
      expect(dump).toContain('INSERT INTO two_factor_auth');
      // The generated key file sits beside the database, readable by the owner only.
      expect(statSync(`${path}.key`).mode & 0o077).toBe(0);
    } else {
      dump = execFileSync('pg_dump', ['--data-only', t.database.url], { encoding: 'utf8' });
      expect(dump).toContain('two_factor_auth');
    }
    expect(dump).toMatch(/v1\.[0-9a-f]{8}\./); // the encrypted envelope is there
    expect(dump).toContain('$argon2id$');
    for (const value of forbidden()) expect(dump).not.toContain(value);
  });

  it('no log line contains a password, code, secret, token or cookie', () => {
    expect(logLines.length).toBeGreaterThan(5);
    const all = logLines.join('');
    for (const value of forbidden()) expect(all).not.toContain(value);
    expect(all).not.toContain(`"${enableCode}"`);
    expect(all).not.toMatch(/crew_session=/);
  });
});
