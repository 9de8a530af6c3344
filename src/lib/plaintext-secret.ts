/**
 * How a TOTP secret the Flask app stored in plain text looks: base32 (RFC 4648 §6), 16–128 characters, optional
 * padding and spaces. The same recognizer as the frozen migration 0006_encrypt_legacy_secrets, so the secret sweep,
 * `crew db verify` and 0006 agree on what counts as plain text. crew's own envelopes start with `v1.` (a dot is
 * never base32), so `secret NOT LIKE 'v1.%'` is a safe pre-filter in SQL.
 */
const PLAIN_BASE32 = /^[A-Z2-7]{16,128}=*$/i;

/** Whether a stored two_factor_auth.secret is a plain-text base32 secret (not an encryption envelope). */
export function isPlaintextSecret(value: unknown): value is string {
  return typeof value === 'string' && PLAIN_BASE32.test(value.replace(/\s/g, ''));
}

/** The canonical form crew encrypts (as 0006 does): no spaces, no padding, upper case. */
export function canonicalSecret(value: string): string {
  return value.replace(/\s/g, '').replace(/=+$/, '').toUpperCase();
}
