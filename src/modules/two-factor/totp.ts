import { createHmac, timingSafeEqual } from 'node:crypto';
import { decodeBase32, encodeBase32 } from '../../lib/base32.ts';
import type { RandomSource } from '../../lib/random.ts';

/** HMAC algorithms RFC 6238 §1.2 allows; authenticator apps reliably support only SHA-1. */
export type TotpAlgorithm = 'sha1' | 'sha256' | 'sha512';

/** Bytes in a generated TOTP secret: 160 bits, the length RFC 4226 §4 R6 recommends (and pyotp's default). */
export const TOTP_SECRET_BYTES = 20;
/** Time-step size in seconds (RFC 6238 §5.2 recommends 30). */
export const TOTP_PERIOD_SECONDS = 30;
/** Digits in a code (RFC 4226 §5.3; what authenticator apps show). */
export const TOTP_DIGITS = 6;
/** Steps either side of now a code may come from, for clock drift (RFC 6238 §5.2 recommends at most one: ±30 s). */
export const TOTP_DRIFT_STEPS = 1;

/**
 * Generates a new shared secret of 160 random bits as 32 base32 characters (RFC 4226 §4 R6, pyotp-compatible).
 * @example generateTotpSecret(systemRandom) // 'JBSWY3DPEHPK3PXP…' (32 chars)
 */
export function generateTotpSecret(random: RandomSource): string {
  const bytes = random.bytes(TOTP_SECRET_BYTES);
  if (bytes.length !== TOTP_SECRET_BYTES) throw new TypeError(`RandomSource returned ${bytes.length} bytes, not ${TOTP_SECRET_BYTES}`);
  return encodeBase32(bytes);
}

/**
 * Computes an HOTP value (RFC 4226 §5.3): HMAC of the 8-byte big-endian counter, dynamic truncation, modulo 10^digits.
 * @example hotp(Buffer.from('12345678901234567890'), 0) === '755224'
 */
export function hotp(secret: Buffer, counter: number | bigint, digits = TOTP_DIGITS, algorithm: TotpAlgorithm = 'sha1'): string {
  const count = typeof counter === 'bigint' ? counter : Number.isSafeInteger(counter) ? BigInt(counter) : -1n;
  if (count < 0n || count > 0xffff_ffff_ffff_ffffn) throw new TypeError('HOTP counter must be an integer in 0..2^64-1');
  // RFC 4226 §5.3 R4: at least 6 digits; the 31-bit truncated value has at most 10.
  if (!Number.isInteger(digits) || digits < 6 || digits > 10) throw new TypeError('HOTP digits must be 6..10');
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(count);
  const mac = createHmac(algorithm, secret).update(message).digest();
  // Dynamic truncation (RFC 4226 §5.4): the low nibble of the last byte picks 4 bytes; the top bit is masked off.
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fff_ffff;
  return (binary % 10 ** digits).toString().padStart(digits, '0');
}

/**
 * The RFC 6238 §4.2 time step T = floor((unix time - T0) / X) with T0 = 0.
 * @example totpStep(new Date('1970-01-01T00:00:59Z')) === 1
 */
export function totpStep(at: Date, periodSeconds = TOTP_PERIOD_SECONDS): number {
  const ms = at.getTime();
  if (!Number.isFinite(ms)) throw new TypeError('totpStep needs a valid Date');
  if (!Number.isInteger(periodSeconds) || periodSeconds <= 0) throw new TypeError('TOTP period must be a positive integer');
  return Math.floor(ms / 1000 / periodSeconds);
}

/**
 * Computes the 6-digit SHA-1 TOTP code (RFC 6238) for a base32 secret at a given time.
 * @example generateTotp('JBSWY3DPEHPK3PXP', clock.now())
 */
export function generateTotp(secretBase32: string, at: Date): string {
  return hotp(decodeBase32(secretBase32), totpStep(at));
}

/** Arguments of {@link verifyTotp}. */
export interface VerifyTotpOptions {
  /** The shared secret, base32 (as stored once decrypted) or raw bytes. */
  secret: string | Buffer;
  /** What the user typed; anything but exactly 6 ASCII digits is rejected. */
  code: string;
  /** The verifier's current time (inject a Clock). */
  at: Date;
  /** Steps accepted either side of now for clock drift (RFC 6238 §5.2); default TOTP_DRIFT_STEPS (±30 s). */
  window?: number;
  /** The last step accepted for this user; no step <= it is accepted again (RFC 6238 §5.2). */
  lastUsedStep?: number | null;
}

const SIX_DIGITS = /^[0-9]{6}$/;

/** What {@link matchTotp} found in the window. */
export interface TotpMatch {
  /** The matched time step newer than lastUsedStep (the one to claim), or null. */
  step: number | null;
  /** Whether the code matched any step of the window, fresh or not: a right code for a used step is a replay. */
  matchedAny: boolean;
}

/**
 * Checks a 6-digit TOTP code against steps now-window..now+window, once: the fresh matched step (> lastUsedStep, RFC
 * 6238 §5.2) and whether the code matched at all, so a replay is told from a wrong code without computing it again.
 * @example const { step, matchedAny } = matchTotp({ secret, code, at: clock.now(), lastUsedStep: record.lastUsedTotpStep });
 */
export function matchTotp({ secret, code, at, window = TOTP_DRIFT_STEPS, lastUsedStep = null }: VerifyTotpOptions): TotpMatch {
  if (!Number.isInteger(window) || window < 0 || window > 10) throw new TypeError('TOTP window must be an integer in 0..10');
  if (typeof code !== 'string' || !SIX_DIGITS.test(code)) return { step: null, matchedAny: false };
  const key = typeof secret === 'string' ? decodeBase32(secret) : secret;
  const submitted = Buffer.from(code, 'latin1');
  const now = totpStep(at);
  let step: number | null = null;
  let matchedAny = false;
  // Every candidate step is computed and compared in constant time (no early exit), so timing says nothing
  // about which step matched (OWASP ASVS 2.8.x). Both sides are exactly TOTP_DIGITS ASCII digits, so
  // timingSafeEqual compares them directly (no length to hide, no hashing needed).
  for (let candidate = now - window; candidate <= now + window; candidate++) {
    if (candidate < 0) continue;
    const equal = timingSafeEqual(Buffer.from(hotp(key, candidate), 'latin1'), submitted);
    const fresh = lastUsedStep === null || candidate > lastUsedStep;
    // If two steps share a code (p ≈ 10^-6), the later one wins: that consumes the most, which only ever errs
    // towards refusing a replay.
    if (equal && fresh) step = candidate;
    if (equal) matchedAny = true;
  }
  return { step, matchedAny };
}

/**
 * Checks a 6-digit TOTP code against steps now-window..now+window and returns the matched time step, or null.
 * A matched step <= lastUsedStep is refused, so each code is accepted at most once (RFC 6238 §5.2); the caller must
 * record the returned step (compare-and-swap) before treating the sign-in as verified.
 * @example const step = verifyTotp({ secret, code, at: clock.now(), lastUsedStep: row.lastUsedTotpStep });
 */
export function verifyTotp(options: VerifyTotpOptions): number | null {
  return matchTotp(options).step;
}
