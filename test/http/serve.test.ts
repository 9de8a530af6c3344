import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { serve } from '../../src/main.ts';
import { CREW_BIN, SPAWN_TEST_TIMEOUT_MS } from '../helpers/run-crew.ts';
import { TEST_DIALECTS, createTestDatabase } from '../helpers/test-database.ts';

describe.each(TEST_DIALECTS)('serve() on %s', (kind) => {
  it('applies pending migrations (printing the report and summary), then listens and answers /healthz', async () => {
    const database = await createTestDatabase(kind);
    const env: Record<string, string> = { DATABASE_URL: database.url, PORT: '0', LOG_LEVEL: 'silent' };
    if (kind === 'postgres') env.CREW_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');
    const lines: string[] = [];
    const server = await serve({ migrate: true, config: loadConfig(env, database.dir), print: (l) => lines.push(l), handleSignals: false });
    try {
      expect(lines[0]).toMatch(/^Found \d+ migration\(s\)$/);
      expect(lines).toContain('Migration Summary');
      expect(lines.some((l) => /^Total: \d+ successful, 0 failed$/.test(l))).toBe(true);
      expect(lines.at(-1)).toBe(`Production Crew is listening on ${server.url}`);
      const res = await fetch(`${server.url}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    } finally {
      await server.close();
      await database.cleanup();
    }
  });
});

describe('graceful shutdown', { timeout: SPAWN_TEST_TIMEOUT_MS }, () => {
  it('exits 0 on SIGTERM after printing the URL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crew-serve-'));
    try {
      const child = spawn(process.execPath, [CREW_BIN, 'serve'], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', HOME: dir, NO_COLOR: '1', DATABASE_URL: join(dir, 'production_crew.db'), PORT: '0', LOG_LEVEL: 'silent' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      const url = await new Promise<string>((res, rej) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) res(m[1]!);
        });
        child.on('exit', (code) => rej(new Error(`exited early (${code}): ${out}`)));
      });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const exitCode = await new Promise<number | null>((res) => {
        child.on('exit', (code) => res(code));
        child.kill('SIGTERM');
      });
      expect(exitCode).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
