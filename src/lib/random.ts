import { randomBytes } from 'node:crypto';

/** A source of cryptographically secure random bytes (the system CSPRNG by default). */
export interface RandomSource {
  bytes(length: number): Buffer;
}

/** The operating system's CSPRNG through node:crypto. */
export const systemRandom: RandomSource = { bytes: (length) => randomBytes(length) };
