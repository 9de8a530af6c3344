import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashSessionToken } from './session-token.ts';

describe('hashSessionToken', () => {
  it('is the SHA-256 hex of the UTF-8 token, so sessions stored by earlier versions still match their cookies', () => {
    // FIPS 180-2 test vector for "abc".
    expect(hashSessionToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const token = 'tQ3h_Zr9-wYc0b1Vx8eK2mNpLs7uAaGdFjHkIoPqRtU'; // the shape of a real cookie value (base64url)
    expect(hashSessionToken(token)).toBe(createHash('sha256').update(token, 'utf8').digest('hex'));
  });
});
