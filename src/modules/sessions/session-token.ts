import { hash } from 'node:crypto';
import type { RandomSource } from '../../lib/random.ts';

/** Bytes of randomness in a session token: 256 bits (OWASP Session Management Cheat Sheet asks for at least 64). */
export const SESSION_TOKEN_BYTES = 32;

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Generates a random token (session token, CSRF token, CSRF nonce): 256 bits from the CSPRNG as 43 base64url
 * characters (OWASP ASVS 3.2.2).
 * @example const token = generateToken(systemRandom);
 */
export function generateToken(random: RandomSource): string {
  return random.bytes(SESSION_TOKEN_BYTES).toString('base64url');
}

/**
 * The SHA-256 (hex) of a token: the only form stored, so a database leak yields no usable cookie (Lucia's design).
 * @example sessions.id === hashSessionToken(cookieValue)
 */
export function hashSessionToken(token: string): string {
  // crypto.hash (Node.js ≥ 20.12, our engines floor): the one-shot form, half the CPU of createHash on every request.
  return hash('sha256', token, 'hex');
}

/**
 * Generates `count` independent {@link generateToken} tokens from ONE draw of the CSPRNG (a session token and its CSRF
 * token): each is still 256 bits of its own, while the draw, the costlier part, is paid once.
 * @example const [token, csrfToken] = generateTokens(systemRandom, 2);
 */
export function generateTokens(random: RandomSource, count: number): string[] {
  const bytes = random.bytes(SESSION_TOKEN_BYTES * count);
  if (bytes.length !== SESSION_TOKEN_BYTES * count) throw new TypeError(`RandomSource returned ${bytes.length} bytes, not ${SESSION_TOKEN_BYTES * count}`);
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) tokens.push(bytes.toString('base64url', i * SESSION_TOKEN_BYTES, (i + 1) * SESSION_TOKEN_BYTES));
  return tokens;
}

/** Tells whether a cookie value has the shape of a {@link generateToken} token (checked before any database work). */
export function isTokenShaped(value: unknown): value is string {
  return typeof value === 'string' && TOKEN_PATTERN.test(value);
}
