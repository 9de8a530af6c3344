// Shared set-up for the two-step sign-in tests: users enrolled through the real API, pending sign-ins, codes from the
// injected clock, and a second app instance over the same database.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { openDatabase } from '../../src/db/open-database.ts';
import { createDeps } from '../../src/deps.ts';
import { buildApp } from '../../src/http/build-app.ts';
import type { ManualClock } from '../../src/lib/clock.ts';
import { generateTotp } from '../../src/modules/two-factor/totp.ts';
import { GOOD_PASSWORD, TestClient, type TestApp } from './app-harness.ts';

/** A start time 10 s into a 30 s TOTP step, so ±1-step drift is unambiguous. */
export const FIXED_START = new Date('2026-03-01T12:00:10Z');

/** A user who enabled 2FA through the API, with the plain secret and backup codes. */
export interface EnrolledUser {
  userId: number;
  username: string;
  secret: string;
  backupCodes: string[];
}

let counter = 0;

/** Registers a user and enables 2FA with the code of the clock's current step (that step is then used), then signs out. */
export async function enrolUser(app: FastifyInstance, clock: ManualClock, prefix = 'user'): Promise<EnrolledUser> {
  const username = `${prefix}${++counter}`;
  const c = new TestClient(app);
  const registered = await c.json('POST', '/api/auth/register', { username, password: GOOD_PASSWORD });
  expect(registered.statusCode, registered.body).toBe(201);
  const { secret } = (await c.json('POST', '/api/2fa/setup')).json();
  const enabled = await c.json('POST', '/api/2fa/enable', { code: generateTotp(secret, clock.now()) });
  expect(enabled.statusCode, enabled.body).toBe(200);
  await c.json('POST', '/api/auth/logout');
  return { userId: registered.json().user.id, username, secret, backupCodes: enabled.json().backupCodes };
}

/** Signs in with the password and returns the client holding the pending two-factor session. */
export async function startSignIn(app: FastifyInstance, username: string): Promise<TestClient> {
  const c = new TestClient(app);
  const res = await c.json('POST', '/api/auth/login', { username, password: GOOD_PASSWORD });
  expect(res.json(), res.body).toEqual({ status: 'two_factor_required' });
  return c;
}

/** Posts a code to the second sign-in step. */
export function postCode(c: TestClient, code: unknown): Promise<LightMyRequestResponse> {
  return c.json('POST', '/api/auth/login/two-factor', { code });
}

/** The TOTP code of the clock's time shifted by whole steps. */
export function totpAt(user: EnrolledUser, clock: ManualClock, offsetSteps = 0): string {
  return generateTotp(user.secret, new Date(clock.now().getTime() + offsetSteps * 30_000));
}

/** A well-formed 6-digit code that is not valid at the clock's time ±1 step. */
export function wrongCode(user: EnrolledUser, clock: ManualClock, n = 0): string {
  const valid = new Set([-1, 0, 1].map((k) => totpAt(user, clock, k)));
  for (let i = n; ; i++) {
    const candidate = String(i * 7919 % 1_000_000).padStart(6, '0');
    if (!valid.has(candidate)) return candidate;
  }
}

/** The user's two_factor_auth row (or undefined). */
export function twoFactorRow(t: TestApp, userId: number) {
  return t.deps.db.selectFrom('two_factor_auth').selectAll().where('user_id', '=', userId).executeTakeFirst();
}

/** The security event types recorded for a user, oldest first. */
export async function eventTypes(t: TestApp, userId: number): Promise<string[]> {
  const rows = await t.deps.db.selectFrom('security_events').select('type').where('user_id', '=', userId).orderBy('id').execute();
  return rows.map((r) => r.type);
}

/**
 * A second app instance over the same database (its own openDatabase(): a second pool on PostgreSQL, a second handle
 * on the SQLite file), sharing config, keys and clock with the first.
 */
export async function openSecondInstance(t: TestApp): Promise<{ app: FastifyInstance; close(): Promise<void> }> {
  const open = await openDatabase(t.database.config);
  const app = await buildApp(createDeps(t.deps.config, open, { clock: t.clock, logger: false }));
  await app.ready();
  return {
    app,
    close: async () => {
      await app.close();
      await open.close();
    },
  };
}
