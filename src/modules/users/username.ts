/** Usernames: 3–32 characters, lowercase letters, digits, dot, dash and underscore, starting with a letter or digit. */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{2,31}$/;

/**
 * Normalises a typed username (trimmed, lowercased) and returns it, or null if it is not a valid username.
 * Lowercasing stops look-alike accounts such as "Alice" and "alice" (OWASP ASVS 2.x account identifiers).
 * @example normalizeUsername(' Alice ') === 'alice'
 */
export function normalizeUsername(input: string): string | null {
  const value = input.trim().toLowerCase();
  return USERNAME_PATTERN.test(value) ? value : null;
}
