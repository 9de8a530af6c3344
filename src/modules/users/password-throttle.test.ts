// The password_throttle rows themselves (migration 0008), on SQLite and PostgreSQL: reservation, refusal, reset, pruning
// and the HMAC key. The HTTP behaviour is proved in test/http/password-throttle.security.test.ts.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatementCounter } from '../../../test/helpers/statement-counter.ts';
import { createMigratedDatabase, TEST_DIALECTS, type TestDatabase } from '../../../test/helpers/test-database.ts';
import type { OpenDatabase } from '../../db/open-database.ts';
import {
  deriveThrottleKey,
  prunePasswordThrottle,
  reservePasswordAttempt,
  resetPasswordThrottle,
  throttleKeyHash,
} from './password-throttle.ts';

describe('throttleKeyHash', () => {
  it('is an HMAC of the trimmed, lower-cased name: no readable username, same row for "Grace " and "grace", another key → another row', () => {
    // The name has letters outside 0-9a-f, so "the hex digest does not contain it" cannot pass or fail by chance
    // (with "ada" a random key gave a digest containing "ada" about once in 66 runs).
    const key = deriveThrottleKey(randomBytes(32));
    expect(throttleKeyHash(key, ' Grace ')).toBe(throttleKeyHash(key, 'grace'));
    expect(throttleKeyHash(key, 'grace')).toMatch(/^[0-9a-f]{64}$/);
    expect(throttleKeyHash(key, 'grace')).not.toBe(createHash('sha256').update('grace').digest('hex')); // keyed, not a plain hash
    expect(throttleKeyHash(deriveThrottleKey(randomBytes(32)), 'grace')).not.toBe(throttleKeyHash(key, 'grace'));
  });
});

describe.each(TEST_DIALECTS)('password_throttle rows on %s', (kind) => {
  let database: TestDatabase & { open: OpenDatabase };
  const T0 = Date.UTC(2026, 2, 1, 12);
  beforeAll(async () => {
    database = await createMigratedDatabase(kind);
  });
  afterAll(() => database.cleanup());
  const row = (k: string) => database.open.db.selectFrom('password_throttle').selectAll().where('key_hash', '=', k).executeTakeFirstOrThrow();

  it('reserves 10 attempts, the 10th starts a 1-minute wait; while it lasts attempts are refused with the time left', async () => {
    const db = database.open.db;
    const k = 'a'.repeat(64);
    for (let i = 1; i <= 9; i++) expect(await reservePasswordAttempt(db, k, T0)).toMatchObject({ ok: true, failureNumber: i, waitMsIfWrong: 0 });
    expect(await reservePasswordAttempt(db, k, T0)).toMatchObject({ ok: true, failureNumber: 10, waitMsIfWrong: 60_000 });
    expect(Number((await row(k)).locked_until_ms)).toBe(T0 + 60_000);
    expect(await reservePasswordAttempt(db, k, T0 + 1_500)).toEqual({ ok: false, retryAfterSeconds: 59, attemptsSinceSuccess: 11 });
    expect(Number((await row(k)).failed_count)).toBe(10); // a refusal is not a checked failure: the wait does not grow
    expect(await reservePasswordAttempt(db, k, T0 + 60_000)).toMatchObject({ ok: true, failureNumber: 11, attemptsSinceSuccess: 12 });
    expect(Number((await row(k)).locked_until_ms)).toBe(T0 + 60_000 + 120_000);
    await resetPasswordThrottle(db, k, T0 + 60_001);
    expect(await row(k)).toMatchObject({ failed_count: 0, attempts_since_success: 0, locked_until_ms: null });
    expect(await reservePasswordAttempt(db, k, T0 + 60_002)).toMatchObject({ ok: true, failureNumber: 1 });
  });

  it('an attempt that may proceed is one upsert, also for a name never seen; a refused one is two row writes', async () => {
    // Counted on the real database: the reservation sits on every password sign-in, before the KDF.
    const counter = new StatementCounter();
    const db = database.open.db.withPlugin(counter);
    const k = 'f'.repeat(64);
    expect(await reservePasswordAttempt(db, k, T0)).toEqual({ ok: true, failureNumber: 1, attemptsSinceSuccess: 1, waitMsIfWrong: 0 });
    expect(counter.take()).toEqual(['insert password_throttle']);
    expect(await row(k)).toMatchObject({ failed_count: 1, attempts_since_success: 1, locked_until_ms: null });
    for (let i = 2; i <= 10; i++) await reservePasswordAttempt(db, k, T0);
    counter.take();
    expect(await reservePasswordAttempt(db, k, T0 + 1_000)).toEqual({ ok: false, retryAfterSeconds: 59, attemptsSinceSuccess: 11 });
    expect(counter.take()).toEqual(['insert password_throttle', 'update password_throttle']);
    expect(await row(k)).toMatchObject({ failed_count: 10, attempts_since_success: 11 });
  });

  it('the wait is capped at 1 hour however many failures', async () => {
    const db = database.open.db;
    const k = 'b'.repeat(64);
    let now = T0;
    const waits: number[] = [];
    for (let i = 1; i <= 40; i++) {
      expect((await reservePasswordAttempt(db, k, now)).ok).toBe(true);
      const until = (await row(k)).locked_until_ms;
      if (until !== null) {
        waits.push(Number(until) - now);
        now = Number(until);
      }
    }
    expect(waits.slice(0, 7)).toEqual([1, 2, 4, 8, 16, 32, 60].map((m) => m * 60_000));
    expect(new Set(waits.slice(6))).toEqual(new Set([3_600_000]));
    expect(await reservePasswordAttempt(db, k, now - 1)).toMatchObject({ ok: false, retryAfterSeconds: 1 });
  });

  it('prunes rows untouched since the cut-off that hold no wait in force, and keeps the others', async () => {
    const db = database.open.db;
    const [old, waiting, fresh] = ['c', 'd', 'e'].map((c) => c.repeat(64)) as [string, string, string];
    await reservePasswordAttempt(db, old, T0);
    for (let i = 0; i < 10; i++) await reservePasswordAttempt(db, waiting, T0);
    await reservePasswordAttempt(db, fresh, T0 + 10_000);
    const removed = await prunePasswordThrottle(db, T0 + 5_000, T0 + 30_000);
    expect(removed).toBeGreaterThanOrEqual(1);
    const left = (await db.selectFrom('password_throttle').select('key_hash').execute()).map((r) => r.key_hash);
    expect(left).not.toContain(old);
    expect(left).toContain(waiting); // its 1-minute wait (until T0 + 60 s) is still in force at T0 + 30 s
    expect(left).toContain(fresh);
  });
});
