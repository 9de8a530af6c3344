import type { AppDb } from '../../db/database.ts';
import { AppError } from '../../lib/app-error.ts';
import type { Clock } from '../../lib/clock.ts';
import { dummyHash, hashSecret, needsRehash, verifySecret } from '../../lib/password-hash.ts';
import { recordSecurityEvent, type RequestMeta } from '../audit/security-events.ts';
import { checkPassword } from './password-policy.ts';
import { deriveThrottleKey, reservePasswordAttempt, resetPasswordThrottle, throttleKeyHash } from './password-throttle.ts';
import { normalizeUsername } from './username.ts';
import { UsersRepository, type User } from './users.repository.ts';

/** What a new account needs; `email` is optional. */
export interface NewUserInput {
  username: string;
  password: string;
  email?: string | null;
  role?: 'user' | 'admin';
}

/** A correct password, with how many failed or throttled attempts the account had since its previous success. */
export interface PasswordMatch {
  user: User;
  failedAttemptsSinceLastSignIn: number;
}

/** Why a password was asked for, recorded with a failure ('sign_in' unless said otherwise). */
export type PasswordPurpose = 'sign_in' | 'reauthenticate' | 'change_password';

const EMAIL_PATTERN = /^[^\s@]{1,64}@[^\s@]{1,190}$/;

/**
 * Account rules: creating users with policy-checked argon2id passwords, and checking a password in constant shape.
 * @example const user = await new UsersService({ db, clock }).createUser({ username, password }, meta);
 */
export class UsersService {
  readonly #db: AppDb;
  readonly #clock: Clock;
  readonly #repo: UsersRepository;
  readonly #throttleKey: Buffer | null;

  /** `csrfKey` (AppDeps') keys the per-account password throttle; without it passwords cannot be checked (only created). */
  constructor(deps: { db: AppDb; clock: Clock; csrfKey?: Buffer }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#repo = new UsersRepository(deps.db);
    this.#throttleKey = deps.csrfKey ? deriveThrottleKey(deps.csrfKey) : null;
  }

  /** Finds a user by id. */
  findById(id: number): Promise<User | null> {
    return this.#repo.findById(id);
  }

  /**
   * Creates an account; throws AppError invalid_input (with `details.field`) for a bad username, e-mail or password,
   * and username_taken (409) for a duplicate. The password is checked against NIST SP 800-63B §5.1.1.2.
   */
  async createUser(input: NewUserInput, meta?: RequestMeta): Promise<User> {
    const username = normalizeUsername(input.username);
    if (!username) {
      throw new AppError('invalid_input', 'Usernames are 3–32 characters: letters, digits, dot, dash or underscore.', { details: { field: 'username' } });
    }
    const email = input.email?.trim() ? input.email.trim() : null;
    if (email !== null && (email.length > 254 || !EMAIL_PATTERN.test(email))) {
      throw new AppError('invalid_input', 'That e-mail address does not look right.', { details: { field: 'email' } });
    }
    const verdict = checkPassword(input.password, { username });
    if (!verdict.ok) throw new AppError('invalid_input', verdict.message, { details: { field: 'password', reason: verdict.code } });
    const passwordHash = await hashSecret(input.password);
    const user = await this.#repo.insert({ username, email, passwordHash, role: input.role ?? 'user' });
    if (!user) throw new AppError('username_taken');
    await recordSecurityEvent(this.#db, { userId: user.id, type: 'register', meta, at: this.#clock.now() });
    return user;
  }

  /** {@link authenticate}'s user alone (null for a wrong password or unknown username). */
  async verifyPassword(username: string, password: string, meta?: RequestMeta, purpose: PasswordPurpose = 'sign_in'): Promise<User | null> {
    return (await this.authenticate(username, password, meta, purpose))?.user ?? null;
  }

  /**
   * Checks a password under the per-account throttle (password-throttle.ts, NIST SP 800-63B §5.2.2): the attempt is
   * counted first; while the account must wait, throws AppError too_many_attempts (429 + retryAfterSeconds) WITHOUT
   * checking the password. Returns the user when it matches (resetting the throttle), else null; re-hashes a legacy
   * Werkzeug hash to argon2id on success. Unknown usernames are throttled alike and verified against a dummy hash, so
   * both failures answer the same (OWASP Authentication Cheat Sheet; ASVS 2.2.x).
   */
  async authenticate(username: string, password: string, meta?: RequestMeta, purpose: PasswordPurpose = 'sign_in'): Promise<PasswordMatch | null> {
    if (!this.#throttleKey) throw new TypeError('UsersService needs csrfKey to check passwords (the throttle is keyed by it)');
    const keyHash = throttleKeyHash(this.#throttleKey, username);
    const nowMs = this.#clock.now().getTime();
    const reservation = await reservePasswordAttempt(this.#db, keyHash, nowMs);
    const found = await this.#repo.findCredentialsByUsername(username.trim());
    if (!reservation.ok) {
      await recordSecurityEvent(this.#db, {
        userId: found?.user.id ?? null,
        type: 'sign_in_throttled',
        meta,
        detail: { purpose, retryAfterSeconds: reservation.retryAfterSeconds },
        at: this.#clock.now(),
      });
      throw new AppError('too_many_attempts', 'Too many wrong passwords for this account; wait and try again.', { retryAfterSeconds: reservation.retryAfterSeconds });
    }
    const ok = await verifySecret(found?.passwordHash ?? (await dummyHash()), password);
    if (!found || !ok) {
      const detail: Record<string, unknown> = { purpose, consecutiveFailures: reservation.failureNumber };
      if (reservation.waitMsIfWrong > 0) detail.waitSeconds = reservation.waitMsIfWrong / 1000;
      await recordSecurityEvent(this.#db, { userId: found?.user.id ?? null, type: 'sign_in_failed', meta, detail, at: this.#clock.now() });
      return null;
    }
    await resetPasswordThrottle(this.#db, keyHash, this.#clock.now().getTime());
    // OWASP Password Storage Cheat Sheet ("upgrade on login"): a werkzeug hash of any format adopted from the Flask app is
    // replaced by argon2id now that the plain password is at hand; the compare-and-swap leaves a concurrent change alone.
    if (needsRehash(found.passwordHash)) await this.#repo.replacePasswordHash(found.user.id, found.passwordHash, await hashSecret(password));
    // This attempt was counted too; everything before it since the last success was a failure or a refusal.
    return { user: found.user, failedAttemptsSinceLastSignIn: reservation.attemptsSinceSuccess - 1 };
  }
}
