import type { Config } from '../../config.ts';
import type { AppDb } from '../../db/database.ts';
import { AppError } from '../../lib/app-error.ts';
import type { Clock } from '../../lib/clock.ts';
import type { RandomSource } from '../../lib/random.ts';
import { recordSecurityEvent, type RequestMeta } from '../audit/security-events.ts';
import { generateBackupCodes, hashBackupCodes } from './backup-codes.ts';
import { buildOtpauthUri, formatSecretForManualEntry } from './otpauth-uri.ts';
import { renderQrSvg } from './qr-code.ts';
import { classifySecondFactorInput } from './second-factor-input.ts';
import { generateTotpSecret, TOTP_DRIFT_STEPS, verifyTotp } from './totp.ts';
import type { TwoFactorRepository } from './two-factor.repository.ts';

/**
 * A set-up (a secret shown, not yet confirmed) can be finished for 10 minutes after the password confirmed it (POST
 * /api/2fa/setup takes the password). Later, neither its secret is shown again nor a code accepted for it: a session
 * cookie stolen after the owner left a set-up open cannot read the secret and bind it (NIST SP 800-63B §6.1.2).
 */
export const PENDING_SETUP_LIFETIME_MS = 10 * 60 * 1000;

/** What the set-up page and POST /api/2fa/setup show: the secret three ways. */
export interface EnrollmentDetails {
  secret: string;
  /** The secret in space-separated groups of four, for typing by hand. */
  manualEntryKey: string;
  otpauthUri: string;
  qrSvg: string;
}

/** Dependencies of {@link EnrollmentService}. */
export interface EnrollmentDeps {
  db: AppDb;
  clock: Clock;
  random: RandomSource;
  /** The app's one repository, built with the key ring (secrets are encrypted on the way in). */
  twoFactor: TwoFactorRepository;
  config: Pick<Config, 'issuer'>;
}

/**
 * Enrolment in TOTP two-factor authentication: set-up (a new secret, not yet enabled), confirmation with a code
 * (RFC 6238, ±1 step), and one-time backup codes (NIST SP 800-63B §5.1.2).
 * @example const details = await enrollment.begin(user); const codes = await enrollment.confirm(user, '123456');
 */
export class EnrollmentService {
  readonly #deps: EnrollmentDeps;
  readonly #repo: TwoFactorRepository;

  constructor(deps: EnrollmentDeps) {
    this.#deps = deps;
    this.#repo = deps.twoFactor;
  }

  /** Creates or replaces the not-yet-enabled secret (160 bits from the CSPRNG); 409 if 2FA is already enabled. */
  async begin(user: { id: number; username: string }, meta?: RequestMeta): Promise<EnrollmentDetails> {
    const secret = generateTotpSecret(this.#deps.random);
    const now = this.#deps.clock.now();
    if (!(await this.#repo.savePendingSecret(user.id, secret, now.getTime()))) throw new AppError('two_factor_already_enabled');
    await recordSecurityEvent(this.#deps.db, { userId: user.id, type: 'two_factor_setup', meta, at: now });
    return this.#details(user.username, secret);
  }

  /** The details of a set-up in progress (for re-showing the QR page), or null if there is none or it expired. */
  async pending(user: { id: number; username: string }): Promise<EnrollmentDetails | null> {
    if (!(await this.#setupIsFresh(user.id))) return null;
    const record = await this.#repo.findByUserId(user.id);
    if (!record || record.enabled) return null;
    return this.#details(user.username, this.#repo.revealSecret(record));
  }

  /**
   * Checks the first code and enables 2FA, returning 10 new backup codes (shown once, stored only as argon2id hashes).
   * Input that is not 6 digits (spaces and dashes ignored) throws invalid_input (400) like every other code route;
   * a well-formed wrong code throws invalid_code (401). Either writes nothing; the accepted step is claimed so it
   * cannot be replayed.
   */
  async confirm(user: { id: number }, code: unknown, meta?: RequestMeta): Promise<string[]> {
    // The same classifier as sign-in and step-up: junk is 400 before anything is read.
    const input = classifySecondFactorInput(code, { acceptBackupCode: false });
    if (input.kind !== 'totp') throw new AppError('invalid_input', 'Enter the 6-digit code from your authenticator app.');
    const record = await this.#repo.findByUserId(user.id);
    if (!record) throw new AppError('two_factor_not_set_up');
    if (record.enabled) throw new AppError('two_factor_already_enabled');
    if (!(await this.#setupIsFresh(user.id))) {
      throw new AppError('two_factor_not_set_up', 'The set-up expired after 10 minutes; start again with your password.');
    }
    const now = this.#deps.clock.now();
    const step = verifyTotp({ secret: this.#repo.revealSecret(record), code: input.code, at: now, window: TOTP_DRIFT_STEPS, lastUsedStep: record.lastUsedTotpStep });
    if (step === null) throw new AppError('invalid_code');
    const codes = generateBackupCodes(this.#deps.random);
    const backupCodeHashes = await hashBackupCodes(codes);
    await this.#deps.db.transaction().execute(async (trx) => {
      // One compare-and-swap: still this set-up, not yet enabled, and the step not accepted before (RFC 6238 §5.2), so the
      // enrolment code cannot be used again and a concurrent second enable changes nothing.
      if (!(await this.#repo.enable(user.id, { storedSecret: record.storedSecret, step, backupCodeHashes, nowMs: now.getTime() }, trx))) {
        throw new AppError('two_factor_not_set_up', 'The set-up changed meanwhile; start again.');
      }
      await recordSecurityEvent(trx, { userId: user.id, type: 'two_factor_enabled', meta, at: now });
    });
    return codes;
  }

  /** Whether the user's pending set-up was started less than PENDING_SETUP_LIFETIME_MS ago. */
  async #setupIsFresh(userId: number): Promise<boolean> {
    const startedAtMs = await this.#repo.pendingSetupStartedAtMs(userId);
    const nowMs = this.#deps.clock.now().getTime();
    return startedAtMs !== null && nowMs - startedAtMs < PENDING_SETUP_LIFETIME_MS;
  }

  async #details(accountName: string, secret: string): Promise<EnrollmentDetails> {
    const otpauthUri = buildOtpauthUri({ issuer: this.#deps.config.issuer, accountName, secret });
    return { secret, manualEntryKey: formatSecretForManualEntry(secret), otpauthUri, qrSvg: await renderQrSvg(otpauthUri) };
  }
}
