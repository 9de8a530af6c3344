import { describe, expect, it } from 'vitest';
import { dummyHash, hashSecret, verifySecret } from './password-hash.ts';

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
