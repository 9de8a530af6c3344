// Shared set-up for every two-factor test, module and HTTP alike: real users and real two_factor_auth rows (made
// directly, or enrolled through the real API), codes from the injected clock, the row as stored, the audit trail,
// pending sign-ins and a second app instance over the same database. No mocks.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { AppDb } from '../../src/db/database.ts';
import { openDatabase } from '../../src/db/open-database.ts';
import { createDeps } from '../../src/deps.ts';
import { buildApp } from '../../src/http/build-app.ts';
import { ManualClock, type Clock } from '../../src/lib/clock.ts';
import { hashSecret } from '../../src/lib/password-hash.ts';
import { systemRandom } from '../../src/lib/random.ts';
import { SecretBox } from '../../src/lib/secret-box.ts';
import type { RequestMeta } from '../../src/modules/audit/security-events.ts';
import { generateBackupCodes, hashBackupCodes } from '../../src/modules/two-factor/backup-codes.ts';
import { generateTotp, generateTotpSecret, TOTP_PERIOD_SECONDS, totpStep } from '../../src/modules/two-factor/totp.ts';
import type { TwoFactorManagementDeps } from '../../src/modules/two-factor/two-factor-management.ts';
import { TwoFactorRepository } from '../../src/modules/two-factor/two-factor.repository.ts';
import { GOOD_PASSWORD, TestClient, type TestApp } from '../http/app-harness.ts';

/** A start time 10 s into a 30 s TOTP step, so ±1-step drift is unambiguous. */
export const FIXED_START = new Date('2026-03-01T12:00:10Z');
/** Request metadata the module tests record. */
export const TEST_META: RequestMeta = { ip: '203.0.113.7', userAgent: 'vitest' };

let counter = 0;
let passwordHash: Promise<string> | undefined;

/** The TOTP code of the clock's time shifted by whole steps. */
export function totpAt(user: { secret: string }, clock: Clock, offsetSteps = 0): string {
  return generateTotp(user.secret, new Date(clock.now().getTime() + offsetSteps * TOTP_PERIOD_SECONDS * 1000));
}

/** The clock's current TOTP time step. */
export function stepNow(clock: Clock): number {
  return totpStep(clock.now());
}

/** A well-formed 6-digit code that is not valid at the clock's time ±1 step; `n` picks a different one. */
export function wrongCode(user: { secret: string }, clock: Clock, n = 0): string {
  const valid = new Set([-1, 0, 1].map((k) => totpAt(user, clock, k)));
  for (let i = n; ; i++) {
    const candidate = String((i * 7919) % 1_000_000).padStart(6, '0');
    if (!valid.has(candidate)) return candidate;
  }
}

/** The user's two_factor_auth row as stored, with its counters as numbers (undefined when there is none). */
export async function readTwoFactorRow(db: AppDb, userId: number) {
  const row = await db.selectFrom('two_factor_auth').selectAll().where('user_id', '=', userId).executeTakeFirst();
  if (!row) return undefined;
  return {
    ...row,
    backupCodeCount: (JSON.parse(row.backup_codes ?? '[]') as string[]).length,
    lastUsedTotpStep: row.last_used_totp_step === null ? null : Number(row.last_used_totp_step),
    reservedAttempts: Number(row.failed_attempts),
    lockoutCount: Number(row.lockout_count),
    lockedUntilMs: row.locked_until_ms === null ? null : Number(row.locked_until_ms),
  };
}

/** The security event types recorded for a user, oldest first. */
export async function eventTypes(db: AppDb, userId: number): Promise<string[]> {
  const rows = await db.selectFrom('security_events').select('type').where('user_id', '=', userId).orderBy('id').execute();
  return rows.map((r) => r.type);
}

/** How many security events of one type a user has. */
export async function countEvents(db: AppDb, userId: number, type: string): Promise<number> {
  return (await eventTypes(db, userId)).filter((t) => t === type).length;
}

/** A user with two-factor enabled, made directly in the database: the plain secret and codes, and the module deps. */
export interface EnabledUser {
  userId: number;
  username: string;
  secret: string;
  backupCodes: string[];
  clock: ManualClock;
  deps: TwoFactorManagementDeps & { secretBox: SecretBox };
}

/** Inserts a user (password GOOD_PASSWORD) and a two_factor_auth row (encrypted secret, or plain base32 with legacyPlainSecret). */
export async function createEnabledUser(
  db: AppDb,
  options: { secretBox?: SecretBox; clock?: ManualClock; legacyPlainSecret?: boolean; enabled?: boolean } = {},
): Promise<EnabledUser> {
  const clock = options.clock ?? new ManualClock(FIXED_START);
  const secretBox = options.secretBox ?? new SecretBox([randomBytes(32)]);
  const username = `user_${process.pid}_${++counter}_${randomBytes(3).toString('hex')}`;
  passwordHash ??= hashSecret(GOOD_PASSWORD);
  const user = await db.insertInto('users').values({ username, email: null, password_hash: await passwordHash }).returning('id').executeTakeFirstOrThrow();
  const secret = generateTotpSecret(systemRandom);
  const backupCodes = generateBackupCodes(systemRandom);
  await db
    .insertInto('two_factor_auth')
    .values({
      user_id: user.id,
      secret: options.legacyPlainSecret ? secret : secretBox.encrypt(secret),
      enabled: options.enabled === false ? 0 : 1, // better-sqlite3 cannot bind booleans; PostgreSQL accepts 1/0
      backup_codes: JSON.stringify(await hashBackupCodes(backupCodes)),
    })
    .execute();
  const deps = { db, clock, random: systemRandom, secretBox, twoFactor: new TwoFactorRepository(db, secretBox) };
  return { userId: user.id, username, secret, backupCodes, clock, deps };
}

/** The user's module deps on another open database (a second app instance): its own repository over that database. */
export function depsOn(user: EnabledUser, db: AppDb): EnabledUser['deps'] {
  return { ...user.deps, db, twoFactor: new TwoFactorRepository(db, user.deps.secretBox) };
}

/** A user who enabled 2FA through the API, with the plain secret and backup codes. */
export interface EnrolledUser {
  userId: number;
  username: string;
  secret: string;
  backupCodes: string[];
}

/** Registers a user and enables 2FA with the code of the clock's current step (that step is then used), then signs out. */
export async function enrolUser(app: FastifyInstance, clock: Clock, prefix = 'user'): Promise<EnrolledUser> {
  const username = `${prefix}${++counter}`;
  const c = new TestClient(app);
  const registered = await c.json('POST', '/api/auth/register', { username, password: GOOD_PASSWORD });
  expect(registered.statusCode, registered.body).toBe(201);
  const { secret } = (await c.json('POST', '/api/2fa/setup', { password: GOOD_PASSWORD })).json();
  const enabled = await c.json('POST', '/api/2fa/enable', { code: generateTotp(secret, clock.now()) });
  expect(enabled.statusCode, enabled.body).toBe(200);
  await c.json('POST', '/api/auth/logout');
  return { userId: registered.json().user.id, username, secret, backupCodes: enabled.json().backupCodes };
}

/** Signs in with the password and returns the client holding the pending two-factor session. */
export async function startSignIn(app: FastifyInstance, username: string): Promise<TestClient> {
  const c = new TestClient(app);
  const res = await c.json('POST', '/api/auth/login', { username, password: GOOD_PASSWORD });
  expect(res.json(), res.body).toMatchObject({ status: 'two_factor_required' });
  return c;
}

/**
 * Starts `count` pending sign-ins one after another (instance i gets `apps[i % apps.length]`). Not in parallel: the
 * password step's per-account throttle counts each attempt before checking it, so 10+ simultaneous password checks for
 * one account meet its limit (docs/SECURITY.md A2); the races these tests are about are on the code step.
 */
export async function startSignIns(apps: FastifyInstance[], username: string, count: number): Promise<TestClient[]> {
  const clients: TestClient[] = [];
  for (let i = 0; i < count; i++) clients.push(await startSignIn(apps[i % apps.length]!, username));
  return clients;
}

/** Posts a code to the second sign-in step. */
export function postCode(c: TestClient, code: unknown): Promise<LightMyRequestResponse> {
  return c.json('POST', '/api/auth/login/two-factor', { code });
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
