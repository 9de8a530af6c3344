import { describe, expect, it } from 'vitest';
import { hash, type Algorithm } from '@node-rs/argon2';
import { ARGON2_OPTIONS, dummyHash, hashSecret, needsRehash, verifySecret } from './password-hash.ts';

describe('password-hash (argon2id)', () => {
  it('hashes with argon2id m=19456 t=2 p=1 and a fresh salt', async () => {
    const [a, b] = await Promise.all([hashSecret('correct horse'), hashSecret('correct horse')]);
    expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('correct horse');
  });

  it('verifies the right secret and rejects a wrong one', async () => {
    const stored = await hashSecret('correct horse');
    expect(await verifySecret(stored, 'correct horse')).toBe(true);
    expect(await verifySecret(stored, 'correct horse ')).toBe(false);
    expect(await verifySecret(stored, '')).toBe(false);
  });

  it('resolves false, never rejects, on malformed hashes', async () => {
    for (const bad of ['', 'plaintext', '$argon2id$v=19$m=19456,t=2,p=1$bad', '$2b$10$abcdefghijklmnopqrstuv', null]) {
      await expect(verifySecret(bad as string, 'x')).resolves.toBe(false);
    }
  });

  it('computes the dummy hash once, and nothing verifies against it', async () => {
    const first = dummyHash();
    expect(dummyHash()).toBe(first);
    expect(await first).toMatch(/^\$argon2id\$/);
    expect(await verifySecret(await first, '')).toBe(false);
  });
});

// Hashes adopted from the earlier Flask app: werkzeug-hash.test.ts checks every format against werkzeug itself; here,
// fixed vectors (computed once with Python's hashlib) guard against a regression, and needsRehash sends each to argon2id.
describe('password-hash: legacy werkzeug hashes and re-hashing', () => {
  const PBKDF2 = 'pbkdf2:sha256:1000$NaClNaClNaClNaCl$cb002f12393f1f92ff9c72055c62925d06756c18e7069077f7e167fdc769160f';
  const SCRYPT = 'scrypt:32768:8:1$NaClNaClNaClNaCl$14e6ce42beb70289050644f3dc6720e73a043405336c12e33864dac42cfff0ca0f1db668da9c04c1038d03e7461840c7a693aef8df587b282bacc408a8b38edd';

  it('verifies fixed vectors of pbkdf2 and scrypt', async () => {
    for (const stored of [PBKDF2, SCRYPT]) {
      expect(await verifySecret(stored, 'pw'), stored).toBe(true);
      expect(await verifySecret(stored, 'pW')).toBe(false);
    }
  });

  it('asks for a re-hash of every werkzeug format and of argon2 with other parameters, not of the current argon2id', async () => {
    for (const legacy of [PBKDF2, SCRYPT, 'sha256$NaCl$00', 'md5$$00', 'plain$$pw', 'pbkdf2:sha256$salt$00']) expect(needsRehash(legacy), legacy).toBe(true);
    expect(needsRehash(await hashSecret('pw'))).toBe(false);
    const weaker = await hash('pw', { ...ARGON2_OPTIONS, memoryCost: 4096 });
    expect(await verifySecret(weaker, 'pw')).toBe(true);
    expect(needsRehash(weaker)).toBe(true);
    expect(needsRehash(await hash('pw', { ...ARGON2_OPTIONS, algorithm: 1 as Algorithm }))).toBe(true); // argon2i
    expect(() => needsRehash(undefined as unknown as string)).toThrow(TypeError);
  });
});
