import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'src', 'cli', 'bin.ts');

/** What a finished `crew` process printed and returned. */
export interface CrewResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `crew ARGS` from the TypeScript source (through tsx), with NO_COLOR and no TTY. */
export function spawnCrew(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs `crew ARGS` to completion. */
export function runCrew(args: string[], options: { env?: Record<string, string>; cwd?: string; input?: string } = {}): Promise<CrewResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawnCrew(args, options);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin!.end(options.input ?? '');
  });
}

/**
 * A scratch copy of the project's migrations inside the repository (so `kysely` resolves),
 * for tests that add, break or edit migration files.
 */
export function scratchMigrationsDir(): string {
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.tmp', 'migrations-'));
  cpSync(join(ROOT, 'src', 'migrations'), dir, { recursive: true });
  return dir;
}
