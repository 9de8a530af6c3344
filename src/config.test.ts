import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDatabaseUrl, parseRateLimit, wantsColour } from './config.ts';

describe('loadConfig', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'crew-config-'));

  it('has the contract defaults', () => {
    const c = loadConfig({}, cwd);
    expect(c.database).toEqual({ kind: 'sqlite', path: join(cwd, 'production_crew.db') });
    expect(c).toMatchObject({ port: 3000, host: '127.0.0.1', issuer: 'Production Crew', require2fa: 'off', registration: 'open', cookieSecure: 'auto', encryptionKeys: null, trustProxy: false, redisUrl: null });
    expect(c.authRateLimit).toEqual({ max: 30, timeWindowMs: 60_000 });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('accepts sqlite:PATH and postgres:// URLs', () => {
    expect(parseDatabaseUrl('sqlite:data/x.db', '/srv')).toEqual({ kind: 'sqlite', path: '/srv/data/x.db' });
    expect(parseDatabaseUrl('postgres://u:p@h:5432/db')).toEqual({ kind: 'postgres', url: 'postgres://u:p@h:5432/db' });
  });

  it.each([
    [{ DATABASE_URL: 'mysql://x/y' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'postgres://h' }, 'DATABASE_URL'],
    [{ DATABASE_URL: ':memory:' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'postgres://h/db' }, 'CREW_ENCRYPTION_KEY'],
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ CREW_REQUIRE_2FA: 'sometimes' }, 'CREW_REQUIRE_2FA'],
    [{ CREW_AUTH_RATE_LIMIT: '30 per minute' }, 'CREW_AUTH_RATE_LIMIT'],
    [{ CREW_AUTH_RATE_LIMIT: '0/minute' }, 'CREW_AUTH_RATE_LIMIT'],
    [{ CREW_REGISTRATION: 'maybe' }, 'CREW_REGISTRATION'],
    [{ CREW_COOKIE_SECURE: 'yes' }, 'CREW_COOKIE_SECURE'],
    [{ CREW_ISSUER: 'Acme:Crew' }, 'CREW_ISSUER'],
    [{ CREW_ENCRYPTION_KEY: 'not-a-key' }, 'CREW_ENCRYPTION_KEY'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    [{ REDIS_URL: 'http://cache:6379' }, 'REDIS_URL'],
    [{ TRUST_PROXY: 'true' }, 'TRUST_PROXY'],
    [{ CREW_ENCRYPTION_KEY: Buffer.alloc(16).toString('base64') }, 'CREW_ENCRYPTION_KEY'],
  ])('refuses %j naming %s', (env, variable) => {
    expect(() => loadConfig(env, cwd)).toThrow(ConfigError);
    expect(() => loadConfig(env, cwd)).toThrow(new RegExp(`^${variable}:`));
  });

  it('parses rate limits', () => {
    expect(parseRateLimit('5/second')).toEqual({ max: 5, timeWindowMs: 1000 });
    expect(parseRateLimit('100/hour')).toEqual({ max: 100, timeWindowMs: 3_600_000 });
  });

  it('reads .env, with the real environment winning', () => {
    writeFileSync(join(cwd, '.env'), '# comment\nPORT=4000\nCREW_ISSUER="Crew Two"\nHOST=0.0.0.0\n');
    const c = loadConfig({ HOST: '127.0.0.2' }, cwd);
    expect(c).toMatchObject({ port: 4000, issuer: 'Crew Two', host: '127.0.0.2' });
  });

  it("reads .env with Node's own parser (export, quotes, comments)", () => {
    writeFileSync(join(cwd, '.env'), "export PORT=4001\nCREW_ISSUER='Crew Three' # the name apps show\n");
    expect(loadConfig({}, cwd)).toMatchObject({ port: 4001, issuer: 'Crew Three' });
  });

  it('wants colour only on a TTY without NO_COLOR or TERM=dumb', () => {
    expect(wantsColour(true, {})).toBe(true);
    expect(wantsColour(false, {})).toBe(false);
    expect(wantsColour(true, { NO_COLOR: '' })).toBe(false);
    expect(wantsColour(true, { TERM: 'dumb' })).toBe(false);
  });
});
