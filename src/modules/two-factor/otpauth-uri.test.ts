import { describe, expect, it } from 'vitest';
import { buildOtpauthUri, formatSecretForManualEntry } from './otpauth-uri.ts';

const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

describe('buildOtpauthUri (Key Uri Format)', () => {
  it('builds the label, secret, issuer and explicit parameters', () => {
    expect(buildOtpauthUri({ issuer: 'Production Crew', accountName: 'alice', secret })).toBe(
      `otpauth://totp/Production%20Crew:alice?secret=${secret}&issuer=Production%20Crew&algorithm=SHA1&digits=6&period=30`,
    );
  });

  it('percent-encodes reserved and non-ASCII characters', () => {
    const uri = buildOtpauthUri({ issuer: 'A&B=C?', accountName: 'zoë+1@example.com/x', secret });
    expect(uri).toBe(
      `otpauth://totp/A%26B%3DC%3F:zo%C3%AB%2B1%40example.com%2Fx?secret=${secret}&issuer=A%26B%3DC%3F&algorithm=SHA1&digits=6&period=30`,
    );
    const parsed = new URL(uri);
    expect(parsed.searchParams.get('issuer')).toBe('A&B=C?');
    expect(parsed.searchParams.get('secret')).toBe(secret);
  });

  it("throws TypeError on ':' in issuer or accountName, or empty parts", () => {
    expect(() => buildOtpauthUri({ issuer: 'Crew:Prod', accountName: 'alice', secret })).toThrow(TypeError);
    expect(() => buildOtpauthUri({ issuer: 'Crew', accountName: 'al:ice', secret })).toThrow(TypeError);
    expect(() => buildOtpauthUri({ issuer: '', accountName: 'alice', secret })).toThrow(TypeError);
    expect(() => buildOtpauthUri({ issuer: 'Crew', accountName: ' ', secret })).toThrow(TypeError);
  });

  it('throws TypeError on a secret that is not unpadded uppercase base32', () => {
    expect(() => buildOtpauthUri({ issuer: 'Crew', accountName: 'alice', secret: 'jbswy3dp' })).toThrow(TypeError);
    expect(() => buildOtpauthUri({ issuer: 'Crew', accountName: 'alice', secret: 'MZXW6===' })).toThrow(TypeError);
  });
});

describe('formatSecretForManualEntry', () => {
  it('groups by four', () => {
    expect(formatSecretForManualEntry(secret)).toBe('JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP');
    expect(formatSecretForManualEntry('ABCDEF')).toBe('ABCD EF');
    expect(formatSecretForManualEntry('')).toBe('');
  });
});
