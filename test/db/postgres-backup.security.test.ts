import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupPostgres, pgDumpInvocation } from '../../src/db/postgres-backup.ts';
import { createTestDatabase, TEST_DIALECTS } from '../helpers/test-database.ts';

// Threat: the database password leaks to every local user. A process's command line is world-readable
// (`ps`, /proc/PID/cmdline), so a password passed to pg_dump as an argument or inside the connection URL
// is disclosed while a backup runs (CWE-214; OWASP ASVS 2.10.4: credentials are not stored or passed in
// the clear where other users can read them). crew hands it over in a private 0600 passfile instead.

const PASSWORD = 'S3cret:pass\\word';

describe('pg_dump invocation', () => {
  it('keeps the password out of the arguments and puts it, escaped, in the passfile', () => {
    const { args, pgpass } = pgDumpInvocation(`postgres://crew:${encodeURIComponent(PASSWORD)}@db.internal:5432/crew`, '/srv/backups/x.sql', '/tmp/crew-pgpass-1/pgpass');
    expect(args.join(' ')).not.toContain('S3cret');
    expect(args).toEqual(['--no-owner', '--file', '/srv/backups/x.sql', '--dbname', 'postgres://crew@db.internal:5432/crew?passfile=%2Ftmp%2Fcrew-pgpass-1%2Fpgpass']);
    expect(pgpass).toBe('*:*:*:*:S3cret\\:pass\\\\word\n');
  });

  it('needs no passfile without a password', () => {
    expect(pgDumpInvocation('postgres://crew@db/crew', '/b.sql', '/p')).toEqual({ args: ['--no-owner', '--file', '/b.sql', '--dbname', 'postgres://crew@db/crew'], pgpass: null });
  });
});

describe.runIf(TEST_DIALECTS.includes('postgres'))('pg_dump with a password in DATABASE_URL', () => {
  it('dumps through the passfile (libpq accepts the parameter); the dump holds no password', async () => {
    const test = await createTestDatabase('postgres');
    try {
      const url = new URL(test.url);
      url.password = encodeURIComponent(PASSWORD); // the test server trusts local connections; the route is what is tested
      const path = await backupPostgres(url.toString(), { dir: join(test.dir, 'backups') });
      const dump = readFileSync(path, 'utf8');
      expect(dump).toContain('PostgreSQL database dump');
      expect(dump).not.toContain('S3cret');
    } finally {
      await test.cleanup();
    }
  });
});
