import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BackupError } from './engine-adapter.ts';
import { backupTimestamp } from './sqlite-backup.ts';

/** A `.pgpass` line matching any server, with `\` and `:` escaped as libpq requires. */
function pgpassLine(password: string): string {
  return `*:*:*:*:${password.replace(/[\\:]/g, (c) => `\\${c}`)}\n`;
}

/**
 * Dumps a PostgreSQL database with `pg_dump` (plain SQL, no owners) into `out`, or into
 * `<dir>/postgres-<database>-<UTC time>.sql` (default dir: `backups/` under the working folder).
 * The password goes to pg_dump in a private 0600 passfile (libpq's `passfile` parameter), never on the
 * command line, where `ps` would show it to every user of the machine.
 * @example await backupPostgres('postgres://crew:pw@db/crew') // '/srv/backups/postgres-crew-20261124T184012123Z.sql'
 */
export async function backupPostgres(url: string, options: { out?: string; dir?: string; manual?: boolean; now?: Date } = {}): Promise<string> {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  const database = decodeURIComponent(parsed.pathname.slice(1)) || 'postgres';
  const stamp = backupTimestamp(options.now ?? new Date());
  const target = options.out ? resolve(options.out) : join(resolve(options.dir ?? 'backups'), `postgres-${database.replace(/[^\w.-]/g, '_')}-${options.manual ? 'manual-' : ''}${stamp}.sql`);
  mkdirSync(dirname(target), { recursive: true });
  const secrets = password ? mkdtempSync(join(tmpdir(), 'crew-pgpass-')) : null;
  if (secrets) {
    const passfile = join(secrets, 'pgpass');
    writeFileSync(passfile, pgpassLine(password), { mode: 0o600 });
    parsed.searchParams.set('passfile', passfile);
  }
  try {
    const result = await new Promise<{ code: number | null; stderr: string; error?: Error }>((done) => {
      const child = spawn('pg_dump', ['--no-owner', '--file', target, '--dbname', parsed.toString()], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', (error) => done({ code: null, stderr, error }));
      child.on('close', (code) => done({ code, stderr }));
    });
    if (result.error || result.code !== 0) {
      rmSync(target, { force: true });
      const why = result.error ? `pg_dump could not be started (${result.error.message}); install the PostgreSQL client (Debian: postgresql-client)` : result.stderr.trim();
      throw new BackupError(`backup to ${target} failed: ${why}`);
    }
  } finally {
    if (secrets) rmSync(secrets, { recursive: true, force: true });
  }
  return target;
}
