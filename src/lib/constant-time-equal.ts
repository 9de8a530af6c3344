import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Compares two strings in time independent of where they differ and of their lengths (OWASP ASVS 2.8.x / 11.x).
 * Both sides are hashed to fixed-length SHA-256 digests first, so `timingSafeEqual` never sees a length mismatch.
 * @example constantTimeEqual(submittedCode, expectedCode)
 */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}
