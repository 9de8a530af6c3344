// Threat: backup codes that are guessable, readable from a leaked database, or matched by a timing-revealing search.
import { describe, expect, it } from 'vitest';
import { systemRandom, type RandomSource } from '../../lib/random.ts';
import {
  BACKUP_CODE_ALPHABET,
  findBackupCode,
  generateBackupCodes,
  hashBackupCodes,
  normalizeBackupCode,
} from './backup-codes.ts';

describe('generateBackupCodes', () => {
  it('makes 10 distinct xxxxx-xxxxx codes from the unambiguous alphabet', () => {
    const codes = generateBackupCodes(systemRandom);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[a-hjkmnp-z2-9]{5}-[a-hjkmnp-z2-9]{5}$/);
    expect(generateBackupCodes(systemRandom, 3)).toHaveLength(3);
  });

  it('uses an alphabet of 31 unambiguous symbols (no 0, o, 1, l, i)', () => {
    expect(new Set(BACKUP_CODE_ALPHABET).size).toBe(31);
    expect(BACKUP_CODE_ALPHABET).not.toMatch(/[0o1li]/);
    expect(10 * Math.log2(BACKUP_CODE_ALPHABET.length)).toBeGreaterThan(40);
  });

  it('discards biased bytes (rejection sampling) and maps the rest uniformly', () => {
    // Bytes 248..255 would bias the first 8 symbols; they must be skipped.
    let n = 0;
    const sequence: RandomSource = { bytes: (length) => Buffer.from(Array.from({ length }, () => [255, 248, 0, 30, 31][n++ % 5]!)) };
    const [code] = generateBackupCodes(sequence, 1);
    expect(code).toBe('a9aa9-aa9aa'); // 0 → 'a', 30 → '9', 31 → 'a'
  });

  it('covers every symbol of the alphabet roughly uniformly', () => {
    const counts = new Map<string, number>();
    for (const code of generateBackupCodes(systemRandom, 100)) {
      for (const char of code.replace('-', '')) counts.set(char, (counts.get(char) ?? 0) + 1);
    }
    expect(counts.size).toBe(31);
    for (const count of counts.values()) expect(count).toBeGreaterThan(5); // expected ≈ 32 each
  });
});

describe('normalizeBackupCode', () => {
  it('strips spaces and dashes and lowercases', () => {
    expect(normalizeBackupCode('K7M2Q-AHX9V')).toBe('k7m2qahx9v');
    expect(normalizeBackupCode(' k7m2q ahx9v ')).toBe('k7m2qahx9v');
    expect(normalizeBackupCode('k7-m2-q-a-hx9v')).toBe('k7m2qahx9v');
  });

  it('returns null unless exactly 10 alphabet symbols', () => {
    for (const bad of ['', 'k7m2q-ahx9', 'k7m2q-ahx9vv', 'k7m2q-ahx90', 'k7m2q-ahxlv', 'k7m2q_ahx9v', '123456', 'x'.repeat(1000)]) {
      expect(normalizeBackupCode(bad)).toBeNull();
    }
  });
});

describe('hashBackupCodes / findBackupCode', () => {
  it('stores salted argon2id hashes and finds the matching index', async () => {
    const codes = generateBackupCodes(systemRandom, 4);
    const hashes = await hashBackupCodes(codes);
    expect(hashes).toHaveLength(4);
    for (const [index, stored] of hashes.entries()) {
      expect(stored).toMatch(/^\$argon2id\$/);
      expect(stored).not.toContain(codes[index]!.replace('-', ''));
    }
    expect(await findBackupCode(hashes, codes[2]!)).toBe(2);
    expect(await findBackupCode(hashes, codes[0]!.toUpperCase().replace('-', ' '))).toBe(0);
    expect(await findBackupCode(hashes, generateBackupCodes(systemRandom, 1)[0]!)).toBe(-1);
    expect(await findBackupCode(hashes, 'not a code')).toBe(-1);
    expect(await findBackupCode([], codes[0]!)).toBe(-1);
  });

  it('throws TypeError when asked to hash something that is not a backup code', async () => {
    await expect(hashBackupCodes(['password'])).rejects.toThrow(TypeError);
  });
});
