// Issue 11: `npm ci` warned EBADENGINE because cookie@2.0.2 (via @fastify/cookie and light-my-request) wants Node ≥ 22
// while crew says Node 20. package.json `overrides` pins cookie 1.1.1 (Node ≥ 18), which has the same API.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/run-crew.ts';

const require = createRequire(import.meta.url);
const semver = require('semver') as { minVersion(range: string): { version: string } | null; satisfies(version: string, range: string): boolean };

interface LockPackage {
  version?: string;
  dev?: boolean;
  engines?: { node?: string } | string[];
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string }; overrides: Record<string, string> };
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> };
/** The oldest Node the project claims to run on. */
const OLDEST_NODE = semver.minVersion(pkg.engines.node)!.version;
/** vitest 4 (vite, rolldown) needs this for `npm test`; README says so. */
const OLDEST_NODE_FOR_TESTS = '20.19.0';

function nodeRange(p: LockPackage): string | null {
  return p.engines && !Array.isArray(p.engines) && p.engines.node ? p.engines.node : null;
}

describe('Node version requirements', () => {
  it(`every runtime package runs on the oldest Node that package.json engines allows (${pkg.engines.node})`, () => {
    const tooNew = Object.entries(lock.packages)
      .filter(([name, p]) => name !== '' && !p.dev && nodeRange(p) !== null && !semver.satisfies(OLDEST_NODE, nodeRange(p)!))
      .map(([name, p]) => `${name}@${p.version} wants node ${nodeRange(p)}`);
    expect(tooNew).toEqual([]);
  });

  it(`every development package runs on Node ${OLDEST_NODE_FOR_TESTS}`, () => {
    const tooNew = Object.entries(lock.packages)
      .filter(([name, p]) => name !== '' && p.dev === true && nodeRange(p) !== null && !semver.satisfies(OLDEST_NODE_FOR_TESTS, nodeRange(p)!))
      .map(([name, p]) => `${name}@${p.version} wants node ${nodeRange(p)}`);
    expect(tooNew).toEqual([]);
  });

  it('cookie is overridden to 1.1.1, which has the functions @fastify/cookie and light-my-request call', () => {
    expect(pkg.overrides.cookie).toBe('1.1.1');
    const cookies = Object.entries(lock.packages).filter(([name]) => name.endsWith('node_modules/cookie'));
    expect(cookies.length).toBeGreaterThan(0);
    expect(new Set(cookies.map(([, p]) => p.version))).toEqual(new Set(['1.1.1']));
    // The copy @fastify/cookie itself loads.
    const cookie = createRequire(require.resolve('@fastify/cookie'))('cookie') as Record<string, (...args: unknown[]) => unknown>;
    expect(cookie.stringifySetCookie!({ name: 'crew_session', value: 'a b', httpOnly: true, sameSite: 'lax' }, {})).toBe('crew_session=a%20b; HttpOnly; SameSite=Lax');
    expect({ ...(cookie.parseCookie!('crew_session=abc; crew_csrf=def', {}) as object) }).toEqual({ crew_session: 'abc', crew_csrf: 'def' });
  });
});
