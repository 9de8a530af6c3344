// Each request's logger becomes pino's child (with the reqId) only when the request writes a line at an enabled level.
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, lazyRequestLoggerFactory } from '../../src/http/logger.ts';
import { createTestApp } from './app-harness.ts';

function sink(): { stream: Writable; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { stream, lines };
}

describe('lazy request logger', () => {
  it('makes no pino child for lines below the level, and one child, with the bindings, for lines at it', () => {
    const { stream, lines } = sink();
    let children = 0;
    const parent = pino({ level: 'warn', onChild: () => children++ }, stream);
    const log = lazyRequestLoggerFactory(parent, { reqId: 'req-7' }, {});
    log.info('dropped');
    log.debug({ a: 1 }, 'dropped too');
    expect(children).toBe(0);
    log.warn({ code: 'x' }, 'first');
    log.error('second');
    log.child({ step: 'totp' }).error('third');
    expect(children).toBe(2); // the request's child, then the explicit child() of it
    expect(lines.map((l) => [l.msg, l.reqId])).toEqual([['first', 'req-7'], ['second', 'req-7'], ['third', 'req-7']]);
    expect(lines[2]!.step).toBe('totp');
  });

  it("follows the parent's level when it changes, and a route's own level gets pino's child at once", () => {
    const { stream, lines } = sink();
    let children = 0;
    const parent = pino({ level: 'silent', onChild: () => children++ }, stream);
    const log = lazyRequestLoggerFactory(parent, { reqId: 'req-8' }, {});
    log.error('dropped');
    parent.level = 'info';
    log.info('kept');
    expect(lines.map((l) => [l.msg, l.reqId])).toEqual([['kept', 'req-8']]);
    lazyRequestLoggerFactory(parent, { reqId: 'req-9' }, { level: 'debug' }).debug('route level');
    expect(children).toBe(2);
    expect(lines[1]).toMatchObject({ msg: 'route level', reqId: 'req-9' });
  });

  it('in the app: every request line carries its reqId at info, and at warn a warning still does', async () => {
    for (const logLevel of ['info', 'warn'] as const) {
      const { stream, lines } = sink();
      const logger = createLogger({ logLevel, logFormat: 'json' }, stream);
      const t = await createTestApp('sqlite', {}, logger, async (app) => {
        app.get('/test-warn', async (request) => {
          request.log.warn({ user: { password: 'hunter2-secret' } }, 'a warning');
          return {};
        });
      });
      try {
        await t.app.inject({ method: 'GET', url: '/healthz' });
        await t.app.inject({ method: 'GET', url: '/test-warn' });
        const byMsg = (msg: string) => lines.filter((l) => l.msg === msg);
        if (logLevel === 'info') {
          expect(byMsg('incoming request').map((l) => l.reqId)).toEqual(byMsg('request completed').map((l) => l.reqId));
          expect(byMsg('incoming request')).toHaveLength(2);
        } else {
          expect(byMsg('incoming request')).toHaveLength(0);
        }
        const [warning] = byMsg('a warning');
        expect(warning?.reqId).toMatch(/^req-/);
        expect(warning?.user).toEqual({ password: '[redacted]' });
      } finally {
        await t.close();
      }
    }
  });
});
