import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BackupError } from './sqlite-backup.ts';

/**
 * Dumps a PostgreSQL database with `pg_dump` (plain SQL, no owners) into `out`, or into
 * `backups/postgres-<database>-<UTC time>.sql` under the working folder. The password travels in
 * PGPASSWORD, never on the command line where `ps` would show it.
 * @example await backupPostgres('postgres://crew:pw@db/crew') // '/srv/backups/postgres-crew-20261124T184012123Z.sql'
 */
export async function backupPostgres(url: string, options: { out?: string; now?: Date } = {}): Promise<string> {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  const database = decodeURIComponent(parsed.pathname.slice(1)) || 'postgres';
  const stamp = (options.now ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\.(\d{3})Z$/, '$1Z');
  const target = options.out ? resolve(options.out) : join(resolve('backups'), `postgres-${database.replace(/[^\w.-]/g, '_')}-${stamp}.sql`);
  mkdirSync(dirname(target), { recursive: true });
  const env = { ...process.env, ...(password ? { PGPASSWORD: password } : {}) };
  const result = await new Promise<{ code: number | null; stderr: string; error?: Error }>((done) => {
    const child = spawn('pg_dump', ['--no-owner', '--file', target, '--dbname', parsed.toString()], { env, stdio: ['ignore', 'ignore', 'pipe'] });
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
  return target;
}
