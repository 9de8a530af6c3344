// Threat: accounts taken over by guessing a common or breached password (credential stuffing, spraying).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../lib/package-root.ts';
import { checkPassword, COMMON_PASSWORDS_FILE, PASSWORD_MIN_LENGTH } from './password-policy.ts';

const codeOf = (password: string, username?: string): string =>
  ((result) => (result.ok ? 'ok' : result.code))(checkPassword(password, { username }));

describe('checkPassword (NIST SP 800-63B §5.1.1.2)', () => {
  it('rejects common and breached passwords, whatever the case', () => {
    for (const password of ['password', '12345678', 'qwertyuiop', 'PASSWORD', 'Password1', 'iloveyou', 'trustno1']) {
      expect(codeOf(password)).toBe('too_common');
    }
  });

  it('reads exactly the breached passwords of 8+ code points of the pinned library (the text copy cannot drift from it)', () => {
    const { dictionary } = createRequire(import.meta.url)('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common');
    const expected = dictionary['passwords-common'].filter((p) => [...p].length >= PASSWORD_MIN_LENGTH);
    const lines = readFileSync(join(packageRoot(), COMMON_PASSWORDS_FILE), 'utf8').split('\n');
    expect(lines.pop()).toBe(''); // one trailing newline
    expect(lines).toEqual(expected); // else: node scripts/common-passwords.mjs
    expect(lines.length).toBeGreaterThan(17_000);
    // Every listed one is refused, not only the handful above (sampled across the ranking).
    for (let i = 0; i < lines.length; i += 997) expect(codeOf(lines[i]!)).toBe('too_common');
  });

  it('rejects a single repeated character', () => {
    expect(codeOf('zzzzzzzzzzzz')).toBe('too_common');
  });

  it('enforces 8..256 characters counted as code points', () => {
    expect(codeOf('short1!')).toBe('too_short');
    expect(codeOf('')).toBe('too_short');
    expect(codeOf('🐙🦑🦀🐡🐠🐟🐬')).toBe('too_short'); // 7 code points, 14 UTF-16 units
    expect(codeOf('🐙🦑🦀🐡🐠🐟🐬🐳')).toBe('ok');
    expect(codeOf('t'.repeat(128) + 'u'.repeat(128))).toBe('ok');
    expect(codeOf('t'.repeat(128) + 'u'.repeat(129))).toBe('too_long');
    expect(codeOf('x'.repeat(1_000_000))).toBe('too_long');
  });

  it('imposes no composition rules', () => {
    expect(codeOf('correct horse battery staple')).toBe('ok');
    expect(codeOf('mauve lamp quietly')).toBe('ok');
    expect(checkPassword('mauve lamp quietly', { username: 'alice' })).toEqual({ ok: true });
  });

  it('rejects a password containing the username', () => {
    expect(codeOf('alice-in-the-hills', 'Alice')).toBe('contains_username');
    expect(codeOf('my name is ALICE!', 'alice')).toBe('contains_username');
    expect(codeOf('jo-is-a-fine-name', 'jo')).toBe('ok'); // short names match only exactly
    expect(codeOf('boatswain', 'boatswain')).toBe('contains_username');
  });

  it('gives a message with every refusal', () => {
    const result = checkPassword('password');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message.length).toBeGreaterThan(10);
  });
});
