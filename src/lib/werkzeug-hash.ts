import { createHash, createHmac, pbkdf2, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { promisify } from 'node:util';
import { kdfConcurrencyLimit } from './concurrency-limit.ts';
import { constantTimeEqual } from './constant-time-equal.ts';

const pbkdf2Async = promisify(pbkdf2);
const scryptAsync = promisify(scrypt) as (password: Buffer, salt: Buffer, keylen: number, options: ScryptOptions) => Promise<Buffer>;

// The digests werkzeug's `method` may name on every Python: hashlib.algorithms_guaranteed without the variable-length
// shake_*. Python name → [node:crypto name, output bytes]. Other names depend on the OpenSSL build and are refused.
const DIGESTS: ReadonlyMap<string, readonly [string, number]> = new Map<string, readonly [string, number]>([
  ['md5', ['md5', 16]],
  ['sha1', ['sha1', 20]],
  ['sha224', ['sha224', 28]],
  ['sha256', ['sha256', 32]],
  ['sha384', ['sha384', 48]],
  ['sha512', ['sha512', 64]],
  ['sha3_224', ['sha3-224', 28]],
  ['sha3_256', ['sha3-256', 32]],
  ['sha3_384', ['sha3-384', 48]],
  ['sha3_512', ['sha3-512', 64]],
  ['blake2b', ['blake2b512', 64]],
  ['blake2s', ['blake2s256', 32]],
]);

/** Highest PBKDF2 iteration count accepted from a stored hash (werkzeug 3.1 writes 1,000,000), so a planted row cannot pin a CPU. */
export const LEGACY_PBKDF2_MAX_ITERATIONS = 2_000_000;
/**
 * werkzeug's DEFAULT_PBKDF2_ITERATIONS over its history, newest first: 3.1, 2.3–3.0, 2.0–2.2, 0.15–1.0, 0.x, 0.9.
 * `generate_password_hash` always writes the count, but `check_password_hash` reads `pbkdf2:sha256$…` (no count) with
 * the checking version's default, so such a hash verifies if any of these match (2.06 million iterations at most).
 */
export const WERKZEUG_DEFAULT_PBKDF2_ITERATIONS: readonly number[] = Object.freeze([1_000_000, 600_000, 260_000, 150_000, 50_000, 1_000]);
/** Scrypt memory bound for stored hashes: 128·N·r at most 64 MiB (werkzeug writes N=32768, r=8: 32 MiB). */
export const LEGACY_SCRYPT_MAX_MEMORY_BYTES = 64 * 1024 * 1024;
/** Scrypt work bound for stored hashes: N·r·p at most 2^20 (werkzeug writes 2^18). */
export const LEGACY_SCRYPT_MAX_WORK = 2 ** 20;
/** Longest stored hash read at all (characters); werkzeug's own are under 200, a `plain$$…` one is as long as its password. */
export const LEGACY_HASH_MAX_LENGTH = 1024;
const MAX_SALT_LENGTH = 256;

const LOWER_HEX = /^[0-9a-f]*$/; // werkzeug compares hex strings, so an upper-case digit never matched there either
const DECIMAL = /^[1-9][0-9]{0,9}$/;

/** A stored werkzeug hash taken apart, with the work it costs known before anything is derived. */
export type WerkzeugHash =
  | { kind: 'pbkdf2'; format: string; digest: string; iterations: readonly number[]; salt: Buffer; expected: Buffer }
  | { kind: 'scrypt'; format: 'scrypt'; N: number; r: number; p: number; salt: Buffer; expected: Buffer }
  | { kind: 'hmac'; format: string; digest: string; salt: Buffer; expected: Buffer }
  | { kind: 'digest'; format: string; digest: string; expected: Buffer }
  | { kind: 'plain'; format: 'plain'; expected: string };

function hexOfLength(hex: string, bytes: number): Buffer | null {
  return hex.length === bytes * 2 && LOWER_HEX.test(hex) ? Buffer.from(hex, 'hex') : null;
}

function parsePbkdf2(args: string[], salt: Buffer, hex: string): WerkzeugHash | null {
  // werkzeug ≥ 2.3 reads a bare `pbkdf2` as `pbkdf2:sha256`; every version reads a missing count as its own default.
  const [digest = 'sha256', count, ...rest] = args;
  const known = DIGESTS.get(digest);
  if (!known || rest.length > 0) return null;
  if (count !== undefined && (!DECIMAL.test(count) || Number(count) > LEGACY_PBKDF2_MAX_ITERATIONS)) return null;
  const expected = hexOfLength(hex, known[1]);
  if (!expected) return null;
  const iterations = count === undefined ? WERKZEUG_DEFAULT_PBKDF2_ITERATIONS : [Number(count)];
  return { kind: 'pbkdf2', format: `pbkdf2:${digest}`, digest: known[0], iterations, salt, expected };
}

function parseScrypt(args: string[], salt: Buffer, hex: string): WerkzeugHash | null {
  // werkzeug ≥ 2.3: a bare `scrypt` means N=2^15, r=8, p=1; otherwise exactly three integers.
  const params = args.length === 0 ? ['32768', '8', '1'] : args;
  if (params.length !== 3 || !params.every((part) => DECIMAL.test(part))) return null;
  const [N, r, p] = params.map(Number) as [number, number, number];
  const powerOfTwo = N >= 2 && (N & (N - 1)) === 0;
  if (!powerOfTwo || 128 * N * r > LEGACY_SCRYPT_MAX_MEMORY_BYTES || N * r * p > LEGACY_SCRYPT_MAX_WORK) return null;
  const expected = hexOfLength(hex, 64); // hashlib.scrypt's default dklen
  return expected && { kind: 'scrypt', format: 'scrypt', N, r, p, salt, expected };
}

/**
 * Takes a werkzeug hash apart — `pbkdf2:<digest>[:<iterations>]$salt$hex`, `scrypt[:N:r:p]$salt$hex`, the pre-2.3
 * `<digest>$salt$hex` (HMAC keyed by the salt) and `<digest>$$hex` (unsalted), and `plain$$password` — or returns
 * null for anything else, including parameters beyond the LEGACY_* bounds.
 * @example parseWerkzeugHash('sha256$Zx9…$4f1c…')?.format === 'salted sha256'
 */
export function parseWerkzeugHash(storedHash: string): WerkzeugHash | null {
  if (typeof storedHash !== 'string' || storedHash.length > LEGACY_HASH_MAX_LENGTH) return null;
  // check_password_hash splits at the first two `$`: the value after them may itself hold `$` (a plain password).
  const first = storedHash.indexOf('$');
  const second = first < 0 ? -1 : storedHash.indexOf('$', first + 1);
  if (second < 0) return null;
  const method = storedHash.slice(0, first);
  const saltText = storedHash.slice(first + 1, second);
  const value = storedHash.slice(second + 1);
  if (method === 'plain') return { kind: 'plain', format: 'plain', expected: value }; // werkzeug ignores the salt here
  if (saltText.length > MAX_SALT_LENGTH) return null;
  const salt = Buffer.from(saltText, 'utf8'); // werkzeug encodes the salt text as UTF-8 and uses those bytes
  const [kind = '', ...args] = method.split(':');
  // werkzeug 2.2 refuses PBKDF2 without a salt, and no version ever wrote a KDF hash without one.
  if (kind === 'pbkdf2') return salt.length > 0 ? parsePbkdf2(args, salt, value) : null;
  if (kind === 'scrypt') return salt.length > 0 ? parseScrypt(args, salt, value) : null;
  const known = args.length === 0 ? DIGESTS.get(kind) : undefined;
  const expected = known && hexOfLength(value, known[1]);
  if (!known || !expected) return null;
  return salt.length > 0
    ? { kind: 'hmac', format: `salted ${kind}`, digest: known[0], salt, expected }
    : { kind: 'digest', format: `unsalted ${kind}`, digest: known[0], expected };
}

/** Whether a stored hash is a werkzeug hash that {@link verifyWerkzeugHash} would check (any format, within the bounds). */
export function isLegacyPasswordHash(storedHash: string): boolean {
  return parseWerkzeugHash(storedHash) !== null;
}

const equalBytes = (derived: Buffer, expected: Buffer): boolean => derived.length === expected.length && timingSafeEqual(derived, expected);

async function derivePbkdf2(hash: Extract<WerkzeugHash, { kind: 'pbkdf2' }>, password: Buffer): Promise<boolean> {
  for (const iterations of hash.iterations) {
    if (equalBytes(await pbkdf2Async(password, hash.salt, iterations, hash.expected.length, hash.digest), hash.expected)) return true;
  }
  return false;
}

async function deriveScrypt(hash: Extract<WerkzeugHash, { kind: 'scrypt' }>, password: Buffer): Promise<boolean> {
  const { N, r, p } = hash;
  // OpenSSL needs about 128·N·r (plus p blocks); twice that plus 1 MiB leaves room while the bound above holds.
  const derived = await scryptAsync(password, hash.salt, 64, { N, r, p, maxmem: 2 * 128 * N * r + 1024 * 1024 });
  return equalBytes(derived, hash.expected);
}

/**
 * Checks a password or backup code against a werkzeug hash as werkzeug's `check_password_hash` would (2.2 and 3.x),
 * comparing in constant time; PBKDF2 and scrypt run under the KDF concurrency cap. Resolves false, never rejects, for a
 * wrong secret, a malformed hash or one whose cost is beyond the bounds, which is refused before any derivation.
 * @example await verifyWerkzeugHash('pbkdf2:sha256:260000$N6Ex…$a1b2…', 'password')
 */
export async function verifyWerkzeugHash(storedHash: string, plain: string): Promise<boolean> {
  const hash = typeof plain === 'string' ? parseWerkzeugHash(storedHash) : null;
  if (!hash) return false;
  const password = Buffer.from(plain, 'utf8');
  try {
    switch (hash.kind) {
      case 'plain':
        return constantTimeEqual(plain, hash.expected); // both sides hashed first: no length leak either
      case 'digest':
        return equalBytes(createHash(hash.digest).update(password).digest(), hash.expected);
      case 'hmac':
        return equalBytes(createHmac(hash.digest, hash.salt).update(password).digest(), hash.expected);
      case 'pbkdf2':
        return await kdfConcurrencyLimit.run(() => derivePbkdf2(hash, password));
      case 'scrypt':
        return await kdfConcurrencyLimit.run(() => deriveScrypt(hash, password));
    }
  } catch {
    return false;
  }
}
