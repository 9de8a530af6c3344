// Threat: a stolen database (backup, SQL injection, shared host) exposes TOTP seeds, or an attacker with write
// access swaps/alters ciphertexts. AES-256-GCM makes seeds unreadable without the key and detects tampering.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { SecretBox, parseEncryptionKeys } from './secret-box.ts';

const keyA = randomBytes(32);
const keyB = randomBytes(32);
const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

/** Flips one bit of the decoded bytes in envelope part `index` (2 = iv, 3 = ciphertext, 4 = tag). */
function flip(envelope: string, index: number): string {
  const parts = envelope.split('.');
  const bytes = Buffer.from(parts[index]!, 'base64url');
  bytes[0]! ^= 0x01;
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

describe('SecretBox', () => {
  it('round-trips and makes a v1 envelope naming the key', () => {
    const box = new SecretBox([keyA]);
    const envelope = box.encrypt(secret);
    expect(envelope).toMatch(/^v1\.[0-9a-f]{8}\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/);
    expect(envelope.split('.')[1]).toBe(box.currentKeyId);
    expect(envelope).not.toContain(secret);
    expect(SecretBox.isEnvelope(envelope)).toBe(true);
    expect(box.decrypt(envelope)).toBe(secret);
    expect(box.decrypt(box.encrypt(''))).toBe('');
    expect(box.decrypt(box.encrypt('héllo ✓'))).toBe('héllo ✓');
  });

  it('uses a fresh IV every time', () => {
    const box = new SecretBox([keyA]);
    const envelopes = new Set(Array.from({ length: 50 }, () => box.encrypt(secret)));
    expect(envelopes.size).toBe(50);
  });

  it('detects tampering with the IV, ciphertext, tag or header', () => {
    const box = new SecretBox([keyA]);
    const envelope = box.encrypt(secret);
    for (const index of [2, 3, 4]) expect(() => box.decrypt(flip(envelope, index))).toThrow(/authentication failed/);
    expect(() => box.decrypt(envelope.replace(/^v1\./, 'v2.'))).toThrow(/not a v1/);
    expect(() => box.decrypt('v1.zzzz')).toThrow(/not a v1/);
  });

  it('fails clearly with the wrong key', () => {
    const envelope = new SecretBox([keyA]).encrypt(secret);
    expect(() => new SecretBox([keyB]).decrypt(envelope)).toThrow(/no configured key has id .*CREW_ENCRYPTION_KEY/);
  });

  it('rotates: old keys still decrypt, the first key encrypts, old envelopes need re-encryption', () => {
    const oldBox = new SecretBox([keyA]);
    const oldEnvelope = oldBox.encrypt(secret);
    const rotated = new SecretBox([keyB, keyA]);
    expect(rotated.decrypt(oldEnvelope)).toBe(secret);
    expect(rotated.needsReencryption(oldEnvelope)).toBe(true);
    const fresh = rotated.encrypt(rotated.decrypt(oldEnvelope));
    expect(rotated.needsReencryption(fresh)).toBe(false);
    expect(fresh.split('.')[1]).toBe(rotated.currentKeyId);
    expect(() => oldBox.decrypt(fresh)).toThrow(/no configured key/);
    expect(rotated.needsReencryption(secret)).toBe(true); // a legacy plaintext secret
  });

  it('tells envelopes from legacy plaintext base32 secrets', () => {
    expect(SecretBox.isEnvelope(secret)).toBe(false);
    expect(SecretBox.isEnvelope('')).toBe(false);
  });

  it('rejects keys that are not 32 bytes with TypeError', () => {
    expect(() => new SecretBox([])).toThrow(TypeError);
    expect(() => new SecretBox([randomBytes(16)])).toThrow(TypeError);
    expect(() => new SecretBox([keyA, randomBytes(31)])).toThrow(TypeError);
  });
});

describe('parseEncryptionKeys', () => {
  it('parses one or several base64 keys', () => {
    expect(parseEncryptionKeys(keyA.toString('base64'))).toEqual([keyA]);
    expect(parseEncryptionKeys(` ${keyB.toString('base64')} , ${keyA.toString('base64')}`)).toEqual([keyB, keyA]);
  });

  it('names CREW_ENCRYPTION_KEY on bad input and never echoes it', () => {
    const short = randomBytes(16).toString('base64');
    for (const bad of ['', ' , ', 'not base64!!', short, `${keyA.toString('base64')},`]) {
      let message = '';
      try {
        parseEncryptionKeys(bad);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/CREW_ENCRYPTION_KEY/);
      if (bad.trim() !== '') expect(message).not.toContain(bad.trim());
    }
  });

  it('never reuses an IV, across the blocks of IVs drawn at a time (GCM nonce reuse leaks the key stream: SP 800-38D §8)', () => {
    const box = new SecretBox([randomBytes(32)]);
    const ivs = Array.from({ length: 1000 }, () => box.encrypt('JBSWY3DPEHPK3PXP').split('.')[2]);
    expect(new Set(ivs).size).toBe(1000);
  });
});
