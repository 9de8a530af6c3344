// Threat: the generated SQLite encryption key leaking to other local users, or two instances starting at once
// each writing a different key (one of them would then be unable to decrypt what the other stored).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadOrCreateKeyFile } from './key-file.ts';
import { SPAWN_TEST_TIMEOUT_MS } from '../../test/helpers/run-crew.ts';

const execFileAsync = promisify(execFile);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'crew-key-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('loadOrCreateKeyFile', () => {
  it('creates a 0600 file holding base64 of 32 bytes plus a newline, and reads the same key back', () => {
    const path = join(dir, 'production_crew.db.key');
    const key = loadOrCreateKeyFile(path);
    expect(key).toHaveLength(32);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe(`${key.toString('base64')}\n`);
    expect(loadOrCreateKeyFile(path).equals(key)).toBe(true);
    expect(readdirSync(dir)).toEqual(['production_crew.db.key']); // no temporary file left behind
  });

  it('refuses a group/world readable key file, saying to chmod 600', () => {
    const path = join(dir, 'k');
    loadOrCreateKeyFile(path);
    chmodSync(path, 0o644);
    expect(() => loadOrCreateKeyFile(path)).toThrow(/chmod 600/);
  });

  it('refuses a file that does not hold 32 bytes', () => {
    const path = join(dir, 'k');
    writeFileSync(path, `${Buffer.alloc(16).toString('base64')}\n`, { mode: 0o600 });
    expect(() => loadOrCreateKeyFile(path)).toThrow(/32 bytes/);
    writeFileSync(path, 'not a key at all\n', { mode: 0o600 });
    expect(() => loadOrCreateKeyFile(path)).toThrow(/32 bytes/);
  });

  it('gives every concurrently starting process the same key', async () => {
    const path = join(dir, 'k');
    const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
    const moduleUrl = new URL('./key-file.ts', import.meta.url).href;
    const script = `import { loadOrCreateKeyFile } from ${JSON.stringify(moduleUrl)};
      process.stdout.write(loadOrCreateKeyFile(process.argv[1]).toString('hex'));`;
    const outputs = await Promise.all(
      Array.from({ length: 6 }, async () => (await execFileAsync(tsx, ['-e', script, path])).stdout),
    );
    expect(new Set(outputs).size).toBe(1);
    expect(outputs[0]).toBe(loadOrCreateKeyFile(path).toString('hex'));
  }, SPAWN_TEST_TIMEOUT_MS); // six Node processes compiling TypeScript: slow on a busy machine

  it('explains a directory that does not exist', () => {
    expect(() => loadOrCreateKeyFile(join(dir, 'missing', 'k'))).toThrow(/Could not create/);
  });
});
