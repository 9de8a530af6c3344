// Threat: accounts taken over by guessing a common or breached password (credential stuffing, spraying).
import { describe, expect, it } from 'vitest';
import { checkPassword } from './password-policy.ts';

const codeOf = (password: string, username?: string): string =>
  ((result) => (result.ok ? 'ok' : result.code))(checkPassword(password, { username }));

describe('checkPassword (NIST SP 800-63B §5.1.1.2)', () => {
  it('rejects common and breached passwords, whatever the case', () => {
    for (const password of ['password', '12345678', 'qwertyuiop', 'PASSWORD', 'Password1', 'iloveyou', 'trustno1']) {
      expect(codeOf(password)).toBe('too_common');
    }
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
