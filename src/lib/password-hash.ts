import { hash, verify, type Algorithm, type Options } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';

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

/**
 * Hashes a password or backup code to a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), with a fresh random salt.
 * @example const stored = await hashSecret(password);
 */
export async function hashSecret(plain: string): Promise<string> {
  if (typeof plain !== 'string') throw new TypeError('hashSecret needs a string');
  return hash(plain, ARGON2_OPTIONS);
}

/**
 * Checks a secret against a stored PHC hash; resolves false (never rejects) for a wrong secret or a malformed hash.
 * @example if (await verifySecret(user.passwordHash, submitted)) { … }
 */
export async function verifySecret(storedHash: string, plain: string): Promise<boolean> {
  if (typeof storedHash !== 'string' || typeof plain !== 'string' || !storedHash.startsWith('$argon2')) return false;
  try {
    return await verify(storedHash, plain);
  } catch {
    return false;
  }
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
