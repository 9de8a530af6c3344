import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../lib/package-root.ts';

/** Minimum password length in code points (NIST SP 800-63B §5.1.1.2: at least 8). */
export const PASSWORD_MIN_LENGTH = 8;
/** Maximum password length in code points (NIST SP 800-63B §5.1.1.2: allow at least 64; 256 bounds hashing work). */
export const PASSWORD_MAX_LENGTH = 256;
/** Longest password input even looked at (the policy's 256 code points, generously in UTF-16 units); bounds hostile input. */
export const MAX_PASSWORD_INPUT_LENGTH = 1024;

/** Why a password was refused; stable codes for the API and forms. */
export type PasswordProblem = 'too_short' | 'too_long' | 'too_common' | 'contains_username';

/** The outcome of {@link checkPassword}: wrong user input is a typed result, never an exception. */
export type PasswordCheck = { ok: true } | { ok: false; code: PasswordProblem; message: string };

/** The list's file, made from @zxcvbn-ts/language-common by scripts/common-passwords.mjs (a test keeps them equal). */
export const COMMON_PASSWORDS_FILE = join('src', 'modules', 'users', 'common-passwords.txt');

let commonPasswords: ReadonlySet<string> | undefined;

/**
 * The ~18,000 passwords of 8+ characters from zxcvbn-ts's ranked list of passwords seen in breaches (NIST SP 800-63B
 * §5.1.1.2: refuse values known from breaches), read on first use (not at import time) and kept. Read from a plain
 * text copy: unpacking the package's compressed dictionaries raised resident memory by ~19 MiB, this by ~4 MiB.
 */
function commonPasswordSet(): ReadonlySet<string> {
  if (commonPasswords === undefined) {
    const text = readFileSync(join(packageRoot(), COMMON_PASSWORDS_FILE), 'utf8');
    commonPasswords = new Set(text.split('\n').filter((line) => line !== ''));
  }
  return commonPasswords;
}

/**
 * Checks a new password against NIST SP 800-63B §5.1.1.2: 8–256 characters counted as Unicode code points, no
 * composition rules, and not a commonly used/breached password, a single repeated character, or the username.
 * @example const result = checkPassword(body.password, { username: body.username }); if (!result.ok) reply 400 result.code
 */
export function checkPassword(password: string, { username }: { username?: string } = {}): PasswordCheck {
  if (typeof password !== 'string') throw new TypeError('checkPassword needs a string');
  // Each code point counts as one character (§5.1.1.2), so 'пароль12' or emoji are not penalised.
  // Over 2×MAX UTF-16 units it is too long whatever the code points, and we skip splitting a huge string.
  const length = password.length > PASSWORD_MAX_LENGTH * 2 ? Infinity : [...password].length;
  if (length < PASSWORD_MIN_LENGTH) {
    return { ok: false, code: 'too_short', message: `Use at least ${PASSWORD_MIN_LENGTH} characters.` };
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return { ok: false, code: 'too_long', message: `Use at most ${PASSWORD_MAX_LENGTH} characters.` };
  }
  const lowered = password.toLowerCase();
  // §5.1.1.2: compare against values known to be commonly used, expected or compromised, including
  // repetitive characters ('aaaaaaaa').
  if (commonPasswordSet().has(lowered) || /^(.)\1*$/su.test(password)) {
    return { ok: false, code: 'too_common', message: 'This password is too common; choose one that is harder to guess.' };
  }
  // §5.1.1.2: context-specific words such as the username. Very short names only match exactly, so that a
  // two-letter username does not forbid every password containing those letters.
  const name = username?.trim().toLowerCase() ?? '';
  if (name !== '' && (name.length >= 3 ? lowered.includes(name) : lowered === name)) {
    return { ok: false, code: 'contains_username', message: 'Your password must not contain your username.' };
  }
  return { ok: true };
}
