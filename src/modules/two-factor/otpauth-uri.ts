import { TOTP_DIGITS, TOTP_PERIOD_SECONDS } from './totp.ts';

/** Arguments of {@link buildOtpauthUri}. */
export interface OtpauthUriOptions {
  /** Who issues the account, e.g. "Production Crew" (CREW_ISSUER). */
  issuer: string;
  /** The account within the issuer, usually the username. */
  accountName: string;
  /** The shared secret, base32 without padding. */
  secret: string;
}

/**
 * Builds a Key Uri Format provisioning URI for authenticator apps: `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…`.
 * Label parts and issuer are percent-encoded (spaces as %20); a ':' in either throws TypeError because it would
 * make the label ambiguous (Key Uri Format, "Label").
 * @example buildOtpauthUri({ issuer: 'Production Crew', accountName: 'alice', secret })
 */
export function buildOtpauthUri({ issuer, accountName, secret }: OtpauthUriOptions): string {
  for (const [name, value] of [['issuer', issuer], ['accountName', accountName]] as const) {
    if (typeof value !== 'string' || value.trim() === '') throw new TypeError(`otpauth ${name} must be a non-empty string`);
    if (value.includes(':')) throw new TypeError(`otpauth ${name} must not contain ':'`);
  }
  if (typeof secret !== 'string' || !/^[A-Z2-7]+$/.test(secret)) {
    throw new TypeError('otpauth secret must be uppercase base32 without padding');
  }
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(accountName)}`;
  // algorithm/digits/period are the defaults, but stating them keeps apps that guess otherwise honest.
  const query = [
    `secret=${secret}`,
    `issuer=${encodeURIComponent(issuer)}`,
    'algorithm=SHA1',
    `digits=${TOTP_DIGITS}`,
    `period=${TOTP_PERIOD_SECONDS}`,
  ].join('&');
  return `otpauth://totp/${label}?${query}`;
}

/**
 * Splits a base32 secret into space-separated groups of four for typing into an app by hand.
 * @example formatSecretForManualEntry('JBSWY3DPEHPK3PXP') === 'JBSW Y3DP EHPK 3PXP'
 */
export function formatSecretForManualEntry(secret: string): string {
  return (secret.replace(/\s+/g, '').match(/.{1,4}/g) ?? []).join(' ');
}
