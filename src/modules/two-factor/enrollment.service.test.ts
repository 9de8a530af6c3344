import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.ts';
import { systemRandom } from '../../lib/random.ts';
import { SecretBox } from '../../lib/secret-box.ts';
import { verifySecret } from '../../lib/password-hash.ts';
import { createMigratedDatabase, TEST_DIALECTS } from '../../../test/helpers/test-database.ts';
import { wrongCode } from '../../../test/helpers/two-factor-fixtures.ts';
import { EnrollmentService } from './enrollment.service.ts';
import { generateTotp, totpStep } from './totp.ts';
import { TwoFactorRepository } from './two-factor.repository.ts';
import { statusOf } from './two-factor-status.ts';

describe.each(TEST_DIALECTS)('EnrollmentService on %s', (kind) => {
  let database: Awaited<ReturnType<typeof createMigratedDatabase>>;
  let service: EnrollmentService;
  let twoFactor: TwoFactorRepository;
  const clock = new ManualClock(new Date('2026-03-01T08:00:10Z'));
  const user = { id: 0, username: 'erin' };

  const row = () => database.open.db.selectFrom('two_factor_auth').selectAll().where('user_id', '=', user.id).executeTakeFirst();

  beforeAll(async () => {
    database = await createMigratedDatabase(kind);
    const inserted = await database.open.db.insertInto('users').values({ username: 'erin', email: null, password_hash: 'x' }).returning('id').executeTakeFirstOrThrow();
    user.id = inserted.id;
    const secretBox = new SecretBox([randomBytes(32)]);
    twoFactor = new TwoFactorRepository(database.open.db, secretBox);
    service = new EnrollmentService({ db: database.open.db, clock, random: systemRandom, twoFactor, config: { issuer: 'Production Crew' } });
  });
  afterAll(() => database.cleanup());

  it('refuses confirmation before set-up', async () => {
    await expect(service.confirm(user, '123456')).rejects.toMatchObject({ code: 'two_factor_not_set_up' });
  });

  it('creates a 160-bit secret, stored encrypted, with QR and manual key', async () => {
    const details = await service.begin(user);
    expect(details.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(details.manualEntryKey.split(' ')).toHaveLength(8);
    expect(details.otpauthUri).toContain(`secret=${details.secret}`);
    expect(details.qrSvg).toMatch(/^<svg/);
    const stored = await row();
    expect(SecretBox.isEnvelope(stored!.secret)).toBe(true);
    expect(stored!.secret).not.toContain(details.secret);
    expect(Boolean(Number(stored!.enabled))).toBe(false);
    expect((await service.pending(user))?.secret).toBe(details.secret);
  });

  it('replaces a not-yet-enabled secret', async () => {
    const first = (await service.pending(user))!.secret;
    const second = await service.begin(user);
    expect(second.secret).not.toBe(first);
    expect((await service.pending(user))?.secret).toBe(second.secret);
  });

  it('changes nothing on a wrong code', async () => {
    const before = await row();
    // A code guaranteed wrong for the pending secret ('000000' would be valid about once in 330,000 runs).
    const code = wrongCode({ secret: (await service.pending(user))!.secret }, clock);
    await expect(service.confirm(user, code)).rejects.toMatchObject({ code: 'invalid_code' });
    expect(await row()).toEqual(before);
  });

  it('enables with a valid code, stores only argon2id hashes of 10 backup codes, and claims the step', async () => {
    const { secret } = (await service.pending(user))!;
    const code = generateTotp(secret, clock.now());
    const codes = await service.confirm(user, code);
    expect(codes).toHaveLength(10);
    const stored = (await row())!;
    expect(Boolean(Number(stored.enabled))).toBe(true);
    expect(Number(stored.last_used_totp_step)).toBe(totpStep(clock.now()));
    const hashes = JSON.parse(stored.backup_codes!) as string[];
    expect(hashes).toHaveLength(10);
    for (const c of codes) expect(stored.backup_codes).not.toContain(c);
    expect(await verifySecret(hashes[0]!, codes[0]!.replace('-', ''))).toBe(true);
    expect(statusOf(await twoFactor.findByUserId(user.id), clock.now().getTime())).toMatchObject({ enabled: true, backupCodesRemaining: 10 });
    await expect(service.begin(user)).rejects.toMatchObject({ code: 'two_factor_already_enabled', statusCode: 409 });
    await expect(service.confirm(user, code)).rejects.toMatchObject({ code: 'two_factor_already_enabled' });
  });

  it('a set-up expires 10 minutes after it started: no secret shown again, no code accepted', async () => {
    const other = await database.open.db.insertInto('users').values({ username: 'slowpoke', email: null, password_hash: 'x' }).returning('id').executeTakeFirstOrThrow();
    const slow = { id: other.id, username: 'slowpoke' };
    const { secret } = await service.begin(slow);
    clock.advanceSeconds(10 * 60 - 1);
    expect((await service.pending(slow))?.secret).toBe(secret);
    clock.advanceSeconds(1);
    expect(await service.pending(slow)).toBeNull();
    await expect(service.confirm(slow, generateTotp(secret, clock.now()))).rejects.toMatchObject({ code: 'two_factor_not_set_up' });
    const again = await service.begin(slow);
    expect(await service.confirm(slow, generateTotp(again.secret, clock.now()))).toHaveLength(10);
  });

  it('accepts a legacy plain base32 secret left by the Flask app (once the set-up is fresh)', async () => {
    const other = await database.open.db.insertInto('users').values({ username: 'legacy', email: null, password_hash: 'x' }).returning('id').executeTakeFirstOrThrow();
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    await database.open.db.insertInto('two_factor_auth').values({ user_id: other.id, secret, enabled: 0 }).execute();
    const legacyUser = { id: other.id, username: 'legacy' };
    // An unfinished Flask-era set-up has no start time: it counts as expired (PENDING_SETUP_LIFETIME_MS), so it is not
    // shown or confirmed without the password again.
    expect(await service.pending(legacyUser)).toBeNull();
    await expect(service.confirm(legacyUser, generateTotp(secret, clock.now()))).rejects.toMatchObject({ code: 'two_factor_not_set_up' });
    // Started (or restarted) now, the plain secret is shown and accepted.
    await database.open.db.updateTable('two_factor_auth').set({ updated_at_ms: clock.now().getTime() }).where('user_id', '=', other.id).execute();
    expect((await service.pending(legacyUser))?.secret).toBe(secret);
    expect(await service.confirm(legacyUser, generateTotp(secret, clock.now()))).toHaveLength(10);
  });
});
