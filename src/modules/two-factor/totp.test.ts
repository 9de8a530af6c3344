import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { encodeBase32 } from '../../lib/base32.ts';
import { systemRandom, type RandomSource } from '../../lib/random.ts';
import { generateTotp, generateTotpSecret, hotp, matchTotp, totpStep, verifyTotp } from './totp.ts';

const RFC_SECRET = Buffer.from('12345678901234567890'); // RFC 4226 Appendix D / RFC 6238 Appendix B (SHA-1)

describe('hotp — RFC 4226 Appendix D', () => {
  const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  it.each(expected.map((code, counter) => [counter, code] as const))('counter %i → %s', (counter, code) => {
    expect(hotp(RFC_SECRET, counter)).toBe(code);
    expect(hotp(RFC_SECRET, BigInt(counter))).toBe(code);
  });

  it('rejects bad counters and digit counts with TypeError', () => {
    expect(() => hotp(RFC_SECRET, -1)).toThrow(TypeError);
    expect(() => hotp(RFC_SECRET, 1.5)).toThrow(TypeError);
    expect(() => hotp(RFC_SECRET, 2n ** 64n)).toThrow(TypeError);
    expect(() => hotp(RFC_SECRET, 0, 5)).toThrow(TypeError);
  });
});

describe('TOTP — RFC 6238 Appendix B (8 digits)', () => {
  // [unix seconds, SHA-1, SHA-256, SHA-512]
  const vectors: Array<[number, string, string, string]> = [
    [59, '94287082', '46119246', '90693936'],
    [1111111109, '07081804', '68084774', '25091201'],
    [1111111111, '14050471', '67062674', '99943326'],
    [1234567890, '89005924', '91819424', '93441116'],
    [2000000000, '69279037', '90698825', '38618901'],
    [20000000000, '65353130', '77737706', '47863826'],
  ];
  // RFC 6238 Appendix A seeds: the ASCII digits repeated to the HMAC's output length.
  const seed256 = Buffer.from('12345678901234567890123456789012');
  const seed512 = Buffer.from('1234567890123456789012345678901234567890123456789012345678901234');

  it.each(vectors)('T=%i', (unix, sha1, sha256, sha512) => {
    const step = totpStep(new Date(unix * 1000));
    expect(hotp(RFC_SECRET, step, 8)).toBe(sha1);
    expect(hotp(seed256, step, 8, 'sha256')).toBe(sha256);
    expect(hotp(seed512, step, 8, 'sha512')).toBe(sha512);
  });

  it('generateTotp gives the 6-digit tail of the SHA-1 vectors', () => {
    expect(generateTotp(encodeBase32(RFC_SECRET), new Date(59_000))).toBe('287082');
    expect(generateTotp(encodeBase32(RFC_SECRET), new Date(1111111109_000))).toBe('081804');
  });
});

describe('totpStep', () => {
  it('floors unix time over 30-second periods', () => {
    expect(totpStep(new Date(0))).toBe(0);
    expect(totpStep(new Date(29_999))).toBe(0);
    expect(totpStep(new Date(30_000))).toBe(1);
    expect(totpStep(new Date(1111111109_000))).toBe(0x23523ec);
    expect(totpStep(new Date(120_000), 60)).toBe(2);
    expect(() => totpStep(new Date(Number.NaN))).toThrow(TypeError);
  });
});

describe('generateTotpSecret', () => {
  it('makes 160-bit secrets as 32 base32 characters (RFC 4226 §4 R6)', () => {
    const secret = generateTotpSecret(systemRandom);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(generateTotpSecret(systemRandom)).not.toBe(secret);
    const zeros: RandomSource = { bytes: (n) => Buffer.alloc(n) };
    expect(generateTotpSecret(zeros)).toBe('A'.repeat(32));
  });
});

describe('verifyTotp', () => {
  const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
  const at = new Date('2026-03-01T12:00:10Z');
  const now = totpStep(at);
  const codeAt = (step: number): string => generateTotp(secret, new Date(step * 30_000));

  it('accepts the current code and returns its step', () => {
    expect(verifyTotp({ secret, code: codeAt(now), at })).toBe(now);
  });

  it('accepts one step either side by default, not two', () => {
    expect(verifyTotp({ secret, code: codeAt(now - 1), at })).toBe(now - 1);
    expect(verifyTotp({ secret, code: codeAt(now + 1), at })).toBe(now + 1);
    expect(verifyTotp({ secret, code: codeAt(now - 2), at })).toBeNull();
    expect(verifyTotp({ secret, code: codeAt(now + 2), at })).toBeNull();
    expect(verifyTotp({ secret, code: codeAt(now - 1), at, window: 0 })).toBeNull();
    expect(verifyTotp({ secret, code: codeAt(now - 2), at, window: 2 })).toBe(now - 2);
  });

  it('never accepts a step at or before lastUsedStep (RFC 6238 §5.2 replay)', () => {
    const code = codeAt(now);
    const step = verifyTotp({ secret, code, at });
    expect(step).toBe(now);
    expect(verifyTotp({ secret, code, at, lastUsedStep: step })).toBeNull();
    expect(verifyTotp({ secret, code: codeAt(now - 1), at, lastUsedStep: now })).toBeNull();
    expect(verifyTotp({ secret, code: codeAt(now + 1), at, lastUsedStep: now })).toBe(now + 1);
    expect(verifyTotp({ secret, code: codeAt(now), at, lastUsedStep: now - 1 })).toBe(now);
  });

  it('rejects anything that is not exactly 6 ASCII digits', () => {
    const code = codeAt(now);
    for (const bad of ['', '12345', '1234567', ` ${code}`, `${code}\n`, '12 345', 'abcdef', '١٢٣٤٥٦', `${code}0`]) {
      expect(verifyTotp({ secret, code: bad, at })).toBeNull();
    }
    expect(verifyTotp({ secret, code: 123456 as unknown as string, at })).toBeNull();
  });

  it('accepts a raw-bytes secret and a lowercase spaced base32 secret', () => {
    const code = codeAt(now);
    expect(verifyTotp({ secret: Buffer.from('48656c6c6f21deadbeef48656c6c6f21deadbeef', 'hex'), code, at })).toBe(now);
    expect(verifyTotp({ secret: 'jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp', code, at })).toBe(now);
  });

  it('matchTotp tells a replay (a right code for a used step) from a wrong code in one pass', () => {
    expect(matchTotp({ secret, code: codeAt(now), at, lastUsedStep: now - 1 })).toEqual({ step: now, matchedAny: true });
    expect(matchTotp({ secret, code: codeAt(now), at, lastUsedStep: now })).toEqual({ step: null, matchedAny: true });
    expect(matchTotp({ secret, code: codeAt(now - 1), at, lastUsedStep: now + 1 })).toEqual({ step: null, matchedAny: true });
    expect(matchTotp({ secret, code: codeAt(now - 2), at, lastUsedStep: now })).toEqual({ step: null, matchedAny: false });
    expect(matchTotp({ secret, code: 'abcdef', at })).toEqual({ step: null, matchedAny: false });
  });

  it('rejects a bad window with TypeError', () => {
    expect(() => verifyTotp({ secret, code: '000000', at, window: -1 })).toThrow(TypeError);
    expect(() => verifyTotp({ secret, code: '000000', at, window: 1.5 })).toThrow(TypeError);
  });
});

/** Runs a reference implementation; a missing binary fails the test with the Debian package to install. */
function run(command: string, args: string[], debianPackage: string, input?: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8', input });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(`${command} is not installed: install the Debian package ${debianPackage} (apt-get install -y ${debianPackage})`);
  }
  if (result.status !== 0) {
    const hint = /No module named .?pyotp/.test(result.stderr) ? `; install the Debian package ${debianPackage}` : '';
    throw new Error(`${command} exited with status ${result.status}: ${result.stderr.trim()}${hint}`);
  }
  return result.stdout;
}

describe('interoperability with oathtool and pyotp', () => {
  // Random secrets and times from 1970 to 2100, plus the edges of a step.
  const cases = Array.from({ length: 60 }, (_, index) => {
    const secret = generateTotpSecret(systemRandom);
    const unix = index === 0 ? 0 : index === 1 ? 29 : index === 2 ? 30 : Math.floor(Math.random() * 4_102_444_800);
    return { secret, unix };
  });

  it('matches oathtool --totp on ≥50 random secrets and times', () => {
    for (const { secret, unix } of cases) {
      const utc = new Date(unix * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
      const theirs = run('oathtool', ['--totp', '-b', secret, '--now', utc], 'oathtool').trim();
      expect({ secret, unix, code: generateTotp(secret, new Date(unix * 1000)) }).toEqual({ secret, unix, code: theirs });
    }
  });

  it('matches pyotp.TOTP(secret).at(unix) on the same cases', () => {
    const script = [
      'import json, sys, pyotp',
      'cases = json.load(sys.stdin)',
      "print(json.dumps([pyotp.TOTP(c['secret']).at(c['unix']) for c in cases]))",
    ].join('\n');
    const theirs = JSON.parse(run('/usr/bin/python3', ['-c', script], 'python3-pyotp', JSON.stringify(cases))) as string[];
    const ours = cases.map(({ secret, unix }) => generateTotp(secret, new Date(unix * 1000)));
    expect(ours).toEqual(theirs);
    expect(theirs).toHaveLength(cases.length);
  });
});
