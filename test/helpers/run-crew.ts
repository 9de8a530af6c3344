import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, '..', '..');

/** The shipped CLI: the esbuild bundle that `npm ci` and `npm test` build (vitest's global set-up builds it too). */
export const CREW_BIN = join(ROOT, 'dist', 'cli', 'bin.js');

/**
 * Time limit for a test that spawns `crew` processes. Each start is a fresh Node process; on a small machine
 * busy with other work a few of them take many seconds, so such tests get minutes, not the in-process 60 s.
 */
export const SPAWN_TEST_TIMEOUT_MS = 240_000;

/** A single `crew` process is killed (and its test fails with what it printed) after this long. */
const PROCESS_TIMEOUT_MS = 180_000;

/** What a finished `crew` process printed and returned. */
export interface CrewResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

let scratchCwd: string | null = null;

/**
 * The working folder for `crew` processes that are not given one: a temporary folder (never the repository,
 * so a default `backups/` or a stray `.env` cannot touch the checkout), removed when the test process exits.
 */
function defaultCwd(): string {
  if (!scratchCwd) {
    const dir = mkdtempSync(join(tmpdir(), 'crew-cwd-'));
    scratchCwd = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return scratchCwd;
}

/** Starts `crew ARGS` from the built bundle, with NO_COLOR, no TTY and only the given environment. */
export function spawnCrew(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): ChildProcess {
  return spawn(process.execPath, [CREW_BIN, ...args], {
    cwd: options.cwd ?? defaultCwd(),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs `crew ARGS` to completion (killing it, and failing, after {@link PROCESS_TIMEOUT_MS}). */
export function runCrew(args: string[], options: { env?: Record<string, string>; cwd?: string; input?: string } = {}): Promise<CrewResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawnCrew(args, options);
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`crew ${args.join(' ')} did not finish within ${PROCESS_TIMEOUT_MS} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, PROCESS_TIMEOUT_MS);
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    child.stdin!.end(options.input ?? '');
  });
}

/**
 * An empty folder OUTSIDE the repository, with no package.json, for the app's own migrations
 * (CREW_MIGRATIONS_DIR / RunnerOptions.appMigrationsDir); crew's built-ins still come from crew.
 */
export function scratchAppMigrationsDir(): string {
  return mkdtempSync(join(tmpdir(), 'crew-app-migrations-'));
}

/**
 * A scratch copy of crew's built-in migrations (RunnerOptions.migrationsDir) in a temporary folder OUTSIDE the repository, with no
 * package.json, for tests that add, break or edit migration files (crew provides `kysely` to them).
 */
export function scratchMigrationsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'crew-migrations-'));
  cpSync(join(ROOT, 'src', 'migrations'), dir, { recursive: true });
  return dir;
}
