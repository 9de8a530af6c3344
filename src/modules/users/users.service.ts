import type { AppDb } from '../../db/database.ts';
import { AppError } from '../../lib/app-error.ts';
import type { Clock } from '../../lib/clock.ts';
import { dummyHash, hashSecret, needsRehash, verifySecret } from '../../lib/password-hash.ts';
import { recordSecurityEvent, type RequestMeta } from '../audit/security-events.ts';
import { checkPassword } from './password-policy.ts';
import { normalizeUsername } from './username.ts';
import { UsersRepository, type User } from './users.repository.ts';

/** What a new account needs; `email` is optional. */
export interface NewUserInput {
  username: string;
  password: string;
  email?: string | null;
  role?: 'user' | 'admin';
}

const EMAIL_PATTERN = /^[^\s@]{1,64}@[^\s@]{1,190}$/;

/**
 * Account rules: creating users with policy-checked argon2id passwords, and checking a password in constant shape.
 * @example const user = await new UsersService({ db, clock }).createUser({ username, password }, meta);
 */
export class UsersService {
  readonly #db: AppDb;
  readonly #clock: Clock;
  readonly #repo: UsersRepository;

  constructor(deps: { db: AppDb; clock: Clock }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#repo = new UsersRepository(deps.db);
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

  /**
   * Returns the user when the password matches, else null, re-hashing a legacy Werkzeug hash to argon2id on success.
   * Unknown usernames are verified against a dummy hash so both failures answer the same (OWASP Authentication Cheat Sheet; ASVS 2.2.x).
   */
  async verifyPassword(username: string, password: string, meta?: RequestMeta): Promise<User | null> {
    const found = await this.#repo.findCredentialsByUsername(username.trim());
    const ok = await verifySecret(found?.passwordHash ?? (await dummyHash()), password);
    if (!found || !ok) {
      await recordSecurityEvent(this.#db, { userId: found?.user.id ?? null, type: 'sign_in_failed', meta, at: this.#clock.now() });
      return null;
    }
    // OWASP Password Storage Cheat Sheet ("upgrade on login"): a werkzeug hash of any format adopted from the Flask app is
    // replaced by argon2id now that the plain password is at hand; the compare-and-swap leaves a concurrent change alone.
    if (needsRehash(found.passwordHash)) await this.#repo.replacePasswordHash(found.user.id, found.passwordHash, await hashSecret(password));
    return found.user;
  }
}
