import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BackupError } from './engine-adapter.ts';
import { backupTimestamp, createPrivateFile } from './sqlite-backup.ts';

/**
 * pg_dump's arguments for dumping `url` into `target`, and the `.pgpass` line that carries the password
 * (null without one). The password never appears in the arguments: every local user can read a process's
 * command line (`ps`, /proc/PID/cmdline), so libpq's `passfile` connection parameter points at a private file.
 */
export function pgDumpInvocation(url: string, target: string, passfile: string): { args: string[]; pgpass: string | null } {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  if (password) parsed.searchParams.set('passfile', passfile);
  // .pgpass fields are host:port:database:user:password, with `\` and `:` escaped by a backslash.
  const pgpass = password ? `*:*:*:*:${password.replace(/[\\:]/g, (c) => `\\${c}`)}\n` : null;
  return { args: ['--no-owner', '--file', target, '--dbname', parsed.toString()], pgpass };
}

/**
 * Dumps a PostgreSQL database with `pg_dump` (plain SQL, no owners) into `out`, or into
 * `<dir>/postgres-<database>-<UTC time>.sql` (default dir: `backups/` under the working folder).
 * The password goes to pg_dump in a private 0600 passfile, removed afterwards (see {@link pgDumpInvocation}).
 * @example await backupPostgres('postgres://crew:pw@db/crew') // '/srv/backups/postgres-crew-20261124T184012123Z.sql'
 */
export async function backupPostgres(url: string, options: { out?: string; dir?: string; manual?: boolean; now?: Date } = {}): Promise<string> {
  const database = decodeURIComponent(new URL(url).pathname.slice(1)) || 'postgres';
  const stamp = backupTimestamp(options.now ?? new Date());
  const target = options.out ? resolve(options.out) : join(resolve(options.dir ?? 'backups'), `postgres-${database.replace(/[^\w.-]/g, '_')}-${options.manual ? 'manual-' : ''}${stamp}.sql`);
  mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
  createPrivateFile(target); // the dump holds every secret in the database: 0600 before pg_dump writes a byte
  const secrets = mkdtempSync(join(tmpdir(), 'crew-pgpass-')); // mode 0700
  const { args, pgpass } = pgDumpInvocation(url, target, join(secrets, 'pgpass'));
  if (pgpass) writeFileSync(join(secrets, 'pgpass'), pgpass, { mode: 0o600 });
  try {
    const result = await new Promise<{ code: number | null; stderr: string; error?: Error }>((done) => {
      const child = spawn('pg_dump', args, { stdio: ['ignore', 'ignore', 'pipe'] });
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
    rmSync(secrets, { recursive: true, force: true });
  }
  return target;
}
