import { describe, expect, it } from 'vitest';
import { werkzeugHash } from '../../test/helpers/werkzeug-hash.ts';
import { dummyHash, hashSecret, isLegacyPasswordHash, verifySecret, verifyWerkzeugHash } from './password-hash.ts';

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

// Users adopted from the earlier Flask app keep Werkzeug hashes in users.password_hash until their next sign-in re-hashes
// them to argon2id (OWASP Password Storage Cheat Sheet, "upgrade on login"). Expected values come from Python's hashlib
// (test/helpers/werkzeug-hash.ts), never from this module.
describe('password-hash: legacy Werkzeug hashes', () => {
  const PASSWORD = 'pässwörd ✓ 123';

  it('verifies fixed vectors of the two formats (generated once with Python hashlib)', async () => {
    const pbkdf2 = 'pbkdf2:sha256:1000$NaClNaClNaClNaCl$cb002f12393f1f92ff9c72055c62925d06756c18e7069077f7e167fdc769160f';
    const scrypt = 'scrypt:32768:8:1$NaClNaClNaClNaCl$14e6ce42beb70289050644f3dc6720e73a043405336c12e33864dac42cfff0ca0f1db668da9c04c1038d03e7461840c7a693aef8df587b282bacc408a8b38edd';
    for (const stored of [pbkdf2, scrypt]) {
      expect(isLegacyPasswordHash(stored)).toBe(true);
      expect(await verifySecret(stored, 'pw'), stored).toBe(true);
      expect(await verifySecret(stored, 'pW')).toBe(false);
    }
  });

  it('verifies pbkdf2 (sha256, sha512, sha1) and scrypt hashes computed by Python now, with UTF-8 passwords and salts', async () => {
    for (const method of ['pbkdf2:sha256:1000', 'pbkdf2:sha256:600000', 'pbkdf2:sha512:2000', 'pbkdf2:sha1:1000', 'scrypt:32768:8:1', 'scrypt:16384:8:1']) {
      for (const salt of ['gR7abc9XyZk2mQ4t', 'sälz€']) {
        const stored = werkzeugHash(PASSWORD, method, salt);
        expect(await verifySecret(stored, PASSWORD), stored).toBe(true);
        expect(await verifySecret(stored, `${PASSWORD} `)).toBe(false);
        expect(await verifySecret(stored, '')).toBe(false);
      }
    }
  });

  it('resolves false for tampered or malformed hashes', async () => {
    const good = werkzeugHash('pw', 'pbkdf2:sha256:1000', 'NaCl');
    const [head, salt, hex] = good.split('$') as [string, string, string];
    const flipped = `${hex.slice(0, -1)}${hex.endsWith('0') ? '1' : '0'}`;
    for (const bad of [
      `${head}$${salt}$${flipped}`, // one bit of the hash
      `${head}$${salt}x$${hex}`, // the salt
      `pbkdf2:sha256:1001$${salt}$${hex}`, // the iterations
      `${head}$${salt}$${hex.slice(0, -2)}`, // truncated: wrong derived length
      `${head}$${salt}$${hex}00`,
      `pbkdf2:sha256$${salt}$${hex}`, // no iterations
      `pbkdf2:md5:1000$${salt}$${hex}`,
      `pbkdf2:sha256:0$${salt}$${hex}`,
      `pbkdf2:sha256:-5$${salt}$${hex}`,
      `pbkdf2:sha256:1e3$${salt}$${hex}`,
      `pbkdf2:sha256:1000:9$${salt}$${hex}`,
      `${head}$${salt}`,
      `${head}$${salt}$not-hex`,
      'scrypt:32768:8$salt$00',
      'scrypt:30000:8:1$salt$' + '00'.repeat(64), // N not a power of two
      'plain$$pw',
      'pbkdf2:',
    ]) {
      await expect(verifySecret(bad, 'pw'), bad).resolves.toBe(false);
    }
  });

  it('refuses hostile cost parameters without deriving (no CPU or memory exhaustion from a planted row)', async () => {
    const hex64 = '00'.repeat(64);
    const started = Date.now();
    for (const hostile of [
      `pbkdf2:sha256:2000001$salt$${'00'.repeat(32)}`,
      `pbkdf2:sha256:9999999999$salt$${'00'.repeat(32)}`,
      `scrypt:1048576:8:1$salt$${hex64}`, // 1 GiB
      `scrypt:65536:16:1$salt$${hex64}`, // 128 MiB
      `scrypt:32768:8:64$salt$${hex64}`, // 64× the work
      `scrypt:2:1:99999999$salt$${hex64}`,
    ]) {
      expect(await verifyWerkzeugHash(hostile, 'pw'), hostile).toBe(false);
    }
    expect(Date.now() - started).toBeLessThan(200);
  });
});
