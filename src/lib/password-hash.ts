import type { Algorithm, Options } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import { kdfConcurrencyLimit } from './concurrency-limit.ts';
import { verifyWerkzeugHash } from './werkzeug-hash.ts';

/**
 * Argon2id with OWASP Password Storage Cheat Sheet minimums (m=19 MiB, t=2, p=1), a salted memory-hard KDF
 * as NIST SP 800-63B §5.1.1.2 requires for stored memorised secrets.
 */
export const ARGON2_OPTIONS: Readonly<Options> = Object.freeze({
  algorithm: 2 as Algorithm, // Algorithm.Argon2id; the native binding does not export the const enum at runtime
  memoryCost: 19_456, // KiB
  timeCost: 2,
  parallelism: 1,
});

// The native addon maps ~10 MiB (its code and Rust runtime) into every process that loads it; a server that has not
// checked a password yet, and CLI commands that never do, do not load it.
let argon2Library: Promise<typeof import('@node-rs/argon2')> | undefined;
const argon2 = () => (argon2Library ??= import('@node-rs/argon2'));

// What every hash made with ARGON2_OPTIONS starts with (PHC string format, argon2 version 0x13 = 19).
const CURRENT_PREFIX = `$argon2id$v=19$m=${ARGON2_OPTIONS.memoryCost},t=${ARGON2_OPTIONS.timeCost},p=${ARGON2_OPTIONS.parallelism}$`;

/**
 * Hashes a password or backup code to a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), with a fresh random
 * salt, under the KDF concurrency cap.
 * @example const stored = await hashSecret(password);
 */
export async function hashSecret(plain: string): Promise<string> {
  if (typeof plain !== 'string') throw new TypeError('hashSecret needs a string');
  const { hash } = await argon2();
  return kdfConcurrencyLimit.run(() => hash(plain, ARGON2_OPTIONS));
}

/**
 * Checks a secret against a stored hash — an argon2 PHC string, or any werkzeug hash adopted from the earlier Flask app
 * (see {@link verifyWerkzeugHash}); resolves false (never rejects) for a wrong secret or a malformed hash.
 * @example if (await verifySecret(user.passwordHash, submitted)) { … }
 */
export async function verifySecret(storedHash: string, plain: string): Promise<boolean> {
  if (typeof storedHash !== 'string' || typeof plain !== 'string') return false;
  if (!storedHash.startsWith('$argon2')) return verifyWerkzeugHash(storedHash, plain);
  const { verify } = await argon2(); // outside the try: an addon that cannot load is an error, not a wrong password
  try {
    return await kdfConcurrencyLimit.run(() => verify(storedHash, plain));
  } catch {
    return false;
  }
}

/**
 * Whether a hash that just verified should be replaced by {@link hashSecret}'s: true for every werkzeug format and for
 * argon2 with other parameters (OWASP Password Storage Cheat Sheet, "upgrading legacy hashes" on sign-in).
 * @example if (ok && needsRehash(stored)) await repo.replacePasswordHash(id, stored, await hashSecret(password));
 */
export function needsRehash(storedHash: string): boolean {
  if (typeof storedHash !== 'string') throw new TypeError('needsRehash needs the stored hash');
  return !storedHash.startsWith(CURRENT_PREFIX);
}

let dummy: Promise<string> | undefined;

/**
 * A hash of an unguessable random value, computed once on first use, to verify against when the username is unknown
 * so that response time does not reveal which accounts exist (OWASP ASVS 2.2.x / Authentication Cheat Sheet).
 * @example const ok = await verifySecret(user?.passwordHash ?? (await dummyHash()), password) && user !== undefined;
 */
export function dummyHash(): Promise<string> {
  dummy ??= hashSecret(randomBytes(32).toString('base64'));
  return dummy;
}
