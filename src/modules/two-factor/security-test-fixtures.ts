// Shared set-up for the two-factor *.security.test.ts files: real users and real two_factor_auth rows, no mocks.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import { ManualClock } from '../../lib/clock.ts';
import { hashSecret } from '../../lib/password-hash.ts';
import { systemRandom } from '../../lib/random.ts';
import { SecretBox } from '../../lib/secret-box.ts';
import type { RequestMeta } from '../audit/security-events.ts';
import { generateBackupCodes, hashBackupCodes } from './backup-codes.ts';
import { generateTotp, generateTotpSecret, totpStep } from './totp.ts';
import type { TwoFactorManagementDeps } from './two-factor-management.ts';

/** The password every fixture user has. */
export const FIXTURE_PASSWORD = 'correct horse battery staple';
/** Request metadata used by the tests. */
export const TEST_META: RequestMeta = { ip: '203.0.113.7', userAgent: 'vitest' };
/** A start time 10 s into a 30 s step, so ±1-step drift tests are unambiguous. */
export const FIXTURE_START = new Date('2026-03-01T12:00:10Z');

let passwordHash: Promise<string> | undefined;
let counter = 0;

/** A user with two-factor enabled: the plain secret and backup codes, and deps for the services under test. */
export interface EnabledUser {
  userId: number;
  username: string;
  secret: string;
  backupCodes: string[];
  clock: ManualClock;
  deps: TwoFactorManagementDeps;
}

/** Inserts a user and an enabled two_factor_auth row (encrypted secret, or plain base32 with legacy: true). */
export async function createEnabledUser(
  db: Kysely<Database>,
  options: { secretBox?: SecretBox; clock?: ManualClock; legacyPlainSecret?: boolean; enabled?: boolean } = {},
): Promise<EnabledUser> {
  const clock = options.clock ?? new ManualClock(FIXTURE_START);
  const secretBox = options.secretBox ?? new SecretBox([randomBytes(32)]);
  const username = `user_${process.pid}_${++counter}_${randomBytes(3).toString('hex')}`;
  passwordHash ??= hashSecret(FIXTURE_PASSWORD);
  const user = await db
    .insertInto('users')
    .values({ username, email: null, password_hash: await passwordHash })
    .returning('id')
    .executeTakeFirstOrThrow();
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
  return { userId: user.id, username, secret, backupCodes, clock, deps: { db, clock, secretBox, random: systemRandom } };
}

/** The TOTP code for the clock's current time, shifted by whole steps. */
export function codeAt(user: EnabledUser, offsetSteps = 0): string {
  return generateTotp(user.secret, new Date(user.clock.now().getTime() + offsetSteps * 30_000));
}

/** The current TOTP time step of the user's clock. */
export function stepNow(user: EnabledUser): number {
  return totpStep(user.clock.now());
}

/** A 6-digit code that is not valid for the clock's current time ±1 step. */
export function wrongCode(user: EnabledUser): string {
  const valid = new Set([codeAt(user, -1), codeAt(user), codeAt(user, 1)]);
  for (let n = 0; ; n++) {
    const candidate = String(n).padStart(6, '0');
    if (!valid.has(candidate)) return candidate;
  }
}

/** How many security events of one type a user has. */
export async function countEvents(db: Kysely<Database>, userId: number, type: string): Promise<number> {
  const rows = await db.selectFrom('security_events').select('id').where('user_id', '=', userId).where('type', '=', type).execute();
  return rows.length;
}

/** The user's two_factor_auth row as numbers (or undefined when deleted). */
export async function readRow(db: Kysely<Database>, userId: number) {
  const row = await db.selectFrom('two_factor_auth').selectAll().where('user_id', '=', userId).executeTakeFirst();
  if (!row) return undefined;
  return {
    ...row,
    backupCodeCount: (JSON.parse(row.backup_codes ?? '[]') as string[]).length,
    lastUsedTotpStep: row.last_used_totp_step === null ? null : Number(row.last_used_totp_step),
    failedAttempts: Number(row.failed_attempts),
    lockoutCount: Number(row.lockout_count),
    lockedUntilMs: row.locked_until_ms === null ? null : Number(row.locked_until_ms),
  };
}
