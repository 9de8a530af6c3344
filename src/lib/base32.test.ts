import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { decodeBase32, encodeBase32 } from './base32.ts';

// RFC 4648 §10 test vectors (padding stripped, as encodeBase32 emits none).
const vectors: Array<[string, string]> = [
  ['', ''],
  ['f', 'MY======'],
  ['fo', 'MZXQ===='],
  ['foo', 'MZXW6==='],
  ['foob', 'MZXW6YQ='],
  ['fooba', 'MZXW6YTB'],
  ['foobar', 'MZXW6YTBOI======'],
];

describe('base32 (RFC 4648)', () => {
  it.each(vectors)('encodes %j as %s', (plain, encoded) => {
    expect(encodeBase32(Buffer.from(plain))).toBe(encoded.replace(/=/g, ''));
  });

  it.each(vectors)('decodes %j from %s (padded and unpadded)', (plain, encoded) => {
    expect(decodeBase32(encoded).toString()).toBe(plain);
    expect(decodeBase32(encoded.replace(/=/g, '')).toString()).toBe(plain);
  });

  it('is case-insensitive and ignores spaces', () => {
    expect(decodeBase32('mzxw 6ytb oi').toString()).toBe('foobar');
    expect(decodeBase32(' JBSW Y3DP EHPK 3PXP ').toString('hex')).toBe(decodeBase32('JBSWY3DPEHPK3PXP').toString('hex'));
  });

  it('throws TypeError on characters outside the alphabet', () => {
    expect(() => decodeBase32('MZXW1')).toThrow(TypeError);
    expect(() => decodeBase32('MZXW0')).toThrow(TypeError);
    expect(() => decodeBase32('MZ-XW')).toThrow(TypeError);
  });

  it('round-trips random bytes', () => {
    for (let length = 0; length < 64; length++) {
      const bytes = randomBytes(length);
      expect(decodeBase32(encodeBase32(bytes)).equals(bytes)).toBe(true);
    }
  });

  it('encodes 20 bytes as 32 characters', () => {
    expect(encodeBase32(new Uint8Array(20))).toHaveLength(32);
  });
});
