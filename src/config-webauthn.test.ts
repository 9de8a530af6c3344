import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseWebAuthnConfig } from './config.ts';

describe('CREW_RP_ID / CREW_ORIGIN (WebAuthn Level 3 §5.1.3, §13.4.9)', () => {
  it('defaults from HOST and PORT: an IP to listen on becomes localhost', () => {
    expect(loadConfig({ DATABASE_URL: 'x.db' }, '/tmp')).toMatchObject({ rpId: 'localhost', origin: 'http://localhost:3000' });
    expect(parseWebAuthnConfig({ host: '0.0.0.0', port: 8080 })).toEqual({ rpId: 'localhost', origin: 'http://localhost:8080' });
    expect(parseWebAuthnConfig({ host: 'localhost', port: 80 })).toEqual({ rpId: 'localhost', origin: 'http://localhost' });
  });

  it('takes a domain and an https origin on it or below it', () => {
    expect(parseWebAuthnConfig({ host: '0.0.0.0', port: 3000, rpId: 'Example.org', origin: 'https://crew.example.org' })).toEqual({ rpId: 'example.org', origin: 'https://crew.example.org' });
  });

  it('threat: an IP address as RP id is refused at start-up with a message naming the variable', () => {
    expect(() => loadConfig({ DATABASE_URL: 'x.db', CREW_RP_ID: '192.168.1.10' }, '/tmp')).toThrow(ConfigError);
    expect(() => parseWebAuthnConfig({ host: '::1', port: 3000, rpId: '::1' })).toThrow(/CREW_RP_ID: "::1" is an IP address/);
    expect(() => parseWebAuthnConfig({ host: 'x', port: 3000, rpId: 'https://example.org' })).toThrow(/CREW_RP_ID: .* is not a domain name/);
    // IPv6 literals are recognised with or without brackets; a name with a port is not an IP (only IPv6 is tested for ':').
    expect(() => parseWebAuthnConfig({ host: 'x', port: 3000, rpId: '[fe80::1]' })).toThrow(/CREW_RP_ID: "\[fe80::1\]" is an IP address/);
    expect(() => parseWebAuthnConfig({ host: 'x', port: 3000, rpId: '::ffff:192.168.1.10' })).toThrow(/is an IP address/);
    expect(() => parseWebAuthnConfig({ host: 'x', port: 3000, rpId: 'crew.example.org:443' })).toThrow(/CREW_RP_ID: "crew.example.org:443" is not a domain name/);
    expect(parseWebAuthnConfig({ host: '[::1]', port: 3000 })).toEqual({ rpId: 'localhost', origin: 'http://localhost:3000' });
  });

  it('threat: an origin on another site, with a path, or over plain http off localhost is refused', () => {
    expect(() => parseWebAuthnConfig({ host: 'x', port: 1, rpId: 'example.org', origin: 'https://example.org.evil.net' })).toThrow(/CREW_ORIGIN: host "example.org.evil.net" is not CREW_RP_ID/);
    expect(() => parseWebAuthnConfig({ host: 'x', port: 1, rpId: 'example.org', origin: 'https://example.org/app' })).toThrow(/CREW_ORIGIN: .* origin only/);
    expect(() => parseWebAuthnConfig({ host: 'x', port: 1, rpId: 'example.org', origin: 'http://example.org' })).toThrow(/CREW_ORIGIN: .* must use https/);
  });
});
