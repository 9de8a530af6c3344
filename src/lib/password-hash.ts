import { hash, verify, type Algorithm, type Options } from '@node-rs/argon2';
import { pbkdf2, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);
const scryptAsync = promisify(scrypt) as (password: Buffer, salt: Buffer, keylen: number, options: ScryptOptions) => Promise<Buffer>;

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
 * Checks a secret against a stored hash — an argon2 PHC string, or a Werkzeug hash adopted from the earlier Flask app
 * (see {@link verifyWerkzeugHash}); resolves false (never rejects) for a wrong secret or a malformed hash.
 * @example if (await verifySecret(user.passwordHash, submitted)) { … }
 */
export async function verifySecret(storedHash: string, plain: string): Promise<boolean> {
  if (typeof storedHash !== 'string' || typeof plain !== 'string') return false;
  if (isLegacyPasswordHash(storedHash)) return verifyWerkzeugHash(storedHash, plain);
  if (!storedHash.startsWith('$argon2')) return false;
  try {
    return await verify(storedHash, plain);
  } catch {
    return false;
  }
}

/** Highest PBKDF2 iteration count accepted from a stored hash (Werkzeug 3.1 writes 1,000,000), so a hostile row cannot pin a CPU. */
export const LEGACY_PBKDF2_MAX_ITERATIONS = 2_000_000;
/** Scrypt bounds for stored hashes: memory 128·N·r at most 64 MiB and work N·r·p at most 2^20 (Werkzeug writes N=32768, r=8, p=1). */
export const LEGACY_SCRYPT_MAX_MEMORY_BYTES = 64 * 1024 * 1024;
const LEGACY_SCRYPT_MAX_WORK = 2 ** 20;

const PBKDF2_DIGEST_BYTES: Readonly<Record<string, number>> = { sha1: 20, sha256: 32, sha512: 64 };
const WERKZEUG_HASH = /^(pbkdf2|scrypt):([^$]{1,64})\$([^$]{0,256})\$([0-9a-fA-F]{2,256})$/;
const DECIMAL = /^[1-9][0-9]{0,9}$/;

/** Whether a stored password hash is one of the Werkzeug formats the earlier Flask app wrote (`pbkdf2:…` or `scrypt:…`). */
export function isLegacyPasswordHash(storedHash: string): boolean {
  return typeof storedHash === 'string' && (storedHash.startsWith('pbkdf2:') || storedHash.startsWith('scrypt:'));
}

/**
 * Checks a password against a Werkzeug hash — `pbkdf2:<sha1|sha256|sha512>:<iterations>$<salt>$<hex>` (derived length =
 * digest size) or `scrypt:<N>:<r>:<p>$<salt>$<hex>` (64 bytes) — with the salt used as UTF-8 text as Werkzeug does, in
 * constant time; parameters beyond the LEGACY_* bounds, or any malformed part, resolve false without deriving anything.
 * @example await verifyWerkzeugHash('pbkdf2:sha256:600000$N6Ex…$a1b2…', 'password')
 */
export async function verifyWerkzeugHash(storedHash: string, plain: string): Promise<boolean> {
  const match = typeof storedHash === 'string' && typeof plain === 'string' ? WERKZEUG_HASH.exec(storedHash) : null;
  if (!match) return false;
  const [, kind, params, saltText, hex] = match as unknown as [string, 'pbkdf2' | 'scrypt', string, string, string];
  const expected = Buffer.from(hex, 'hex');
  const password = Buffer.from(plain, 'utf8');
  const salt = Buffer.from(saltText, 'utf8');
  try {
    let derived: Buffer;
    if (kind === 'pbkdf2') {
      const [digest = '', iterationsText = '', ...rest] = params.split(':');
      const length = PBKDF2_DIGEST_BYTES[digest];
      if (!length || rest.length > 0 || !DECIMAL.test(iterationsText)) return false;
      const iterations = Number(iterationsText);
      if (iterations > LEGACY_PBKDF2_MAX_ITERATIONS || expected.length !== length) return false;
      derived = await pbkdf2Async(password, salt, iterations, length, digest);
    } else {
      const parts = params.split(':');
      if (parts.length !== 3 || !parts.every((part) => DECIMAL.test(part))) return false;
      const [N, r, p] = parts.map(Number) as [number, number, number];
      const powerOfTwo = N >= 2 && (N & (N - 1)) === 0;
      if (!powerOfTwo || 128 * N * r > LEGACY_SCRYPT_MAX_MEMORY_BYTES || N * r * p > LEGACY_SCRYPT_MAX_WORK || expected.length !== 64) return false;
      // OpenSSL's limit is about 128·N·r (plus p blocks); double it so N=32768, r=8 fits the bound with room to spare.
      derived = await scryptAsync(password, salt, 64, { N, r, p, maxmem: 2 * 128 * N * r + 1024 * 1024 });
    }
    return derived.length === expected.length && timingSafeEqual(derived, expected);
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
