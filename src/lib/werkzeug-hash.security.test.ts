import { describe, expect, it } from 'vitest';
import { kdfConcurrencyLimit } from './concurrency-limit.ts';
import { verifySecret } from './password-hash.ts';
import {
  LEGACY_HASH_MAX_LENGTH,
  LEGACY_PBKDF2_MAX_ITERATIONS,
  LEGACY_SCRYPT_MAX_MEMORY_BYTES,
  LEGACY_SCRYPT_MAX_WORK,
  parseWerkzeugHash,
  verifyWerkzeugHash,
} from './werkzeug-hash.ts';

// Threat: a stored hash is data, and data can be hostile. A row planted in users.password_hash or
// two_factor_auth.backup_codes (a tampered Flask database handed to `crew migrate`, an SQL injection elsewhere, a
// malicious admin) could name a cost that pins a CPU or exhausts memory on every sign-in attempt against that account —
// a denial of service anyone can trigger by typing a password (OWASP ASVS 2.4 / OWASP Password Storage Cheat Sheet:
// work factors are chosen by the server, not read from untrusted input). So every cost is bounded before anything is
// derived, and a malformed hash is a plain `false`, never an exception that a route turns into a 500.

const hex = (bytes: number) => '00'.repeat(bytes);

describe('werkzeug hashes: hostile costs are refused before any derivation', () => {
  const hostile = [
    `pbkdf2:sha256:${LEGACY_PBKDF2_MAX_ITERATIONS + 1}$salt$${hex(32)}`,
    `pbkdf2:sha512:9999999999$salt$${hex(64)}`,
    `scrypt:1048576:8:1$salt$${hex(64)}`, // 1 GiB of memory
    `scrypt:65536:16:1$salt$${hex(64)}`, // 128 MiB
    `scrypt:32768:8:64$salt$${hex(64)}`, // 64× the work werkzeug uses
    `scrypt:2:1:99999999$salt$${hex(64)}`,
    `scrypt:32768:4096:1$salt$${hex(64)}`,
  ];

  it('takes none of them apart, and starts no key derivation for them', async () => {
    const started = kdfConcurrencyLimit.started;
    for (const stored of hostile) {
      expect(parseWerkzeugHash(stored), stored).toBeNull();
      expect(await verifyWerkzeugHash(stored, 'pw'), stored).toBe(false);
      expect(await verifySecret(stored, 'pw'), stored).toBe(false);
    }
    // The cap counts every derivation that starts; none did. (Counting, not timing: this holds on any machine.)
    expect(kdfConcurrencyLimit.started).toBe(started);
  });

  it('admits werkzeug’s own heaviest parameters, and counts them when it derives', async () => {
    expect(parseWerkzeugHash(`pbkdf2:sha256:1000000$salt$${hex(32)}`)).toMatchObject({ kind: 'pbkdf2', iterations: [1_000_000] });
    expect(parseWerkzeugHash(`scrypt:32768:8:1$salt$${hex(64)}`)).toMatchObject({ kind: 'scrypt', N: 32768, r: 8, p: 1 });
    expect(128 * 32768 * 8).toBeLessThanOrEqual(LEGACY_SCRYPT_MAX_MEMORY_BYTES);
    expect(32768 * 8).toBeLessThanOrEqual(LEGACY_SCRYPT_MAX_WORK);
    const started = kdfConcurrencyLimit.started;
    expect(await verifyWerkzeugHash(`pbkdf2:sha256:1000$salt$${hex(32)}`, 'pw')).toBe(false);
    expect(kdfConcurrencyLimit.started).toBe(started + 1); // so the count above would have seen a hostile derivation
  });

  it('refuses over-long hashes and salts unread', async () => {
    const started = kdfConcurrencyLimit.started;
    for (const stored of [`plain$$${'x'.repeat(LEGACY_HASH_MAX_LENGTH)}`, `pbkdf2:sha256:1000$${'s'.repeat(257)}$${hex(32)}`, `sha256$${'s'.repeat(257)}$${hex(32)}`]) {
      expect(parseWerkzeugHash(stored)).toBeNull();
      expect(await verifySecret(stored, 'x'.repeat(LEGACY_HASH_MAX_LENGTH))).toBe(false);
    }
    expect(kdfConcurrencyLimit.started).toBe(started);
  });
});

describe('werkzeug hashes: malformed input is false, never an exception', () => {
  it('resolves false for broken hashes and non-string input', async () => {
    const broken: unknown[] = [
      '', '$', '$$', '$$$', 'plain', 'plain$', 'pbkdf2:', 'pbkdf2:sha256:1000', 'pbkdf2:sha256:1000$salt', `pbkdf2:sha256:1000$salt$${hex(31)}0`,
      `pbkdf2:sha256:0$salt$${hex(32)}`, `pbkdf2:sha256:-5$salt$${hex(32)}`, `pbkdf2:sha256:1e3$salt$${hex(32)}`, `pbkdf2:sha256:01000$salt$${hex(32)}`,
      `pbkdf2:shake_128:1000$salt$${hex(32)}`, `pbkdf2:constructor:1000$salt$${hex(32)}`, `constructor$salt$${hex(32)}`, `__proto__$$${hex(32)}`,
      `scrypt:30000:8:1$salt$${hex(64)}`, `scrypt:0:8:1$salt$${hex(64)}`, `scrypt:32768:0:1$salt$${hex(64)}`, `scrypt:32768:8:1$$${hex(64)}`,
      `sha256:1$salt$${hex(32)}`, `sha256$salt$${'zz'.repeat(32)}`, `sha256$salt$${'AB'.repeat(32)}`, `$argon2id$v=19$m=19456,t=2,p=1$bad`,
      '$2b$10$abcdefghijklmnopqrstuv', 'sha256$salt$\u0000', null, undefined, 42, {}, ['sha256', 'salt', hex(32)],
    ];
    for (const stored of broken) {
      await expect(verifyWerkzeugHash(stored as string, 'pw'), String(stored)).resolves.toBe(false);
      await expect(verifySecret(stored as string, 'pw'), String(stored)).resolves.toBe(false);
    }
    for (const secret of [null, undefined, 42, {}]) {
      await expect(verifyWerkzeugHash('plain$$pw', secret as string)).resolves.toBe(false);
      await expect(verifySecret('plain$$pw', secret as string)).resolves.toBe(false);
    }
  });
});
