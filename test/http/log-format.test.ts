// Issue 11: `npm start` printed raw pino JSON for every request, mixed with the start-up report. On a terminal logs
// are now one readable line each; JSON when not a terminal or with LOG_FORMAT=json.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, formatLogMessage, logFormatFor } from '../../src/http/logger.ts';
import { crewOnTty } from '../helpers/run-crew-tty.ts';
import { SPAWN_TEST_TIMEOUT_MS, spawnCrew } from '../helpers/run-crew.ts';
import { TEST_DIALECTS } from '../helpers/test-database.ts';
import { createTestApp } from './app-harness.ts';

describe('log format', () => {
  it.each([
    ['auto', true, 'pretty'],
    ['auto', false, 'json'],
    ['json', true, 'json'],
    ['pretty', false, 'pretty'],
  ] as const)('LOG_FORMAT=%s with a terminal=%s → %s', (format, tty, expected) => {
    expect(logFormatFor(format, tty)).toBe(expected);
  });

  it('request logs read as one line each', () => {
    expect(formatLogMessage({ msg: 'incoming request', reqId: 'req-1', req: { method: 'GET', url: '/login' } })).toBe('→ GET /login (req-1)');
    expect(formatLogMessage({ msg: 'request completed', reqId: 'req-1', res: { statusCode: 200 }, responseTime: 3.4 })).toBe('← 200 in 3 ms (req-1)');
  });
});

describe.each(TEST_DIALECTS)('readable logs from the app on %s', (kind) => {
  it('one line per event, no JSON, and still redacted', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const logger = createLogger({ logLevel: 'info', logFormat: 'pretty' }, sink);
    const t = await createTestApp(kind, {}, logger);
    try {
      await t.app.inject({ method: 'GET', url: '/healthz' });
      logger.info({ user: { password: 'hunter2-secret' } }, 'a password-bearing object');
      expect(lines.some((l) => /^\[\d\d:\d\d:\d\d\] INFO: → GET \/healthz \(req-\w+\)$/.test(l))).toBe(true);
      expect(lines.some((l) => /^\[\d\d:\d\d:\d\d\] INFO: ← 200 in \d+ ms \(req-\w+\)$/.test(l))).toBe(true);
      expect(lines.some((l) => l.startsWith('{'))).toBe(false);
      expect(lines.join('\n')).not.toContain('hunter2-secret');
      expect(lines.join('\n')).toContain('[redacted]');
    } finally {
      await t.close();
    }
  });
});

describe('crew serve logs', { timeout: SPAWN_TEST_TIMEOUT_MS }, () => {
  const withFolder = async (fn: (dir: string) => Promise<void> | void) => {
    const dir = mkdtempSync(join(tmpdir(), 'crew-logs-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('on a terminal: readable lines; with LOG_FORMAT=json on a terminal: JSON', async () => {
    await withFolder((dir) => {
      const env = { DATABASE_URL: join(dir, 'crew.db'), PORT: '0' };
      // Ctrl-C once both the log line and the URL are out (the URL is printed after the signal handlers are set).
      const untilListening: Array<[string, string | null]> = [['Server listening at', null], ['Production Crew is listening on', '\x03']];
      const readable = crewOnTty(['serve'], env, untilListening);
      expect(readable.output).toMatch(/\[\d\d:\d\d:\d\d\] INFO: Server listening at http:\/\/127\.0\.0\.1:\d+/);
      expect(readable.output).not.toMatch(/^\{"level"/m);
      expect(readable.code).toBe(0);
      const json = crewOnTty(['serve'], { ...env, LOG_FORMAT: 'json' }, untilListening);
      expect(json.output, json.output).toMatch(/^\{"level":30,.*"msg":"Server listening at http:\/\/127\.0\.0\.1:\d+"\}\r?$/m);
    });
  });

  it('not on a terminal: JSON lines', async () => {
    await withFolder(async (dir) => {
      const child = spawnCrew(['serve'], { env: { DATABASE_URL: join(dir, 'crew.db'), PORT: '0' }, cwd: dir });
      let stdout = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d) => {
          stdout += d;
          if (stdout.includes('Production Crew is listening on')) resolve();
        });
        child.on('error', reject);
        child.on('close', () => reject(new Error(`crew serve ended early: ${stdout}`)));
      });
      const exited = new Promise((resolve) => child.on('close', resolve));
      child.kill('SIGTERM');
      await exited;
      expect(stdout).toMatch(/^\{"level":30,.*"msg":"Server listening at http:\/\/127\.0\.0\.1:\d+"\}$/m);
    });
  });
});
