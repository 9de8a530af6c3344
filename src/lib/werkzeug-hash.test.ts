import { pbkdf2Sync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { askWerkzeug, type WerkzeugAnswer } from '../../test/helpers/werkzeug-hash.ts';
import { verifySecret } from './password-hash.ts';
import { isLegacyPasswordHash, parseWerkzeugHash, verifyWerkzeugHash, WERKZEUG_DEFAULT_PBKDF2_ITERATIONS } from './werkzeug-hash.ts';

// Users and backup codes adopted from the Flask app keep werkzeug hashes until their next use. Every expected value here
// comes from the real werkzeug (Debian's python3-werkzeug 2.2.2 via /usr/bin/python3), or for scrypt, which 2.2.2
// predates, from hashlib following werkzeug 3's documented algorithm — never from this module.

// Python runs and key derivations; generous timeouts for a loaded shared machine (no test asserts a time).
const SLOW = 600_000;
const NON_ASCII = 'pässwörd ✓ 123';
const LONG = `${'Grüße aus Köln, 東京 und 🎬 — '.repeat(3)}!`; // over 72 bytes: bcrypt would silently cut it; werkzeug does not
const PASSWORDS = ['correct horse battery', NON_ASCII, LONG, 'pa$$word'];
const BACKUP_CODE = '5675f6ad'; // what the Flask app issued: 8 hex digits

// [method, salt]: every format werkzeug writes, with the salt forms it uses ('' for plain and the unsalted digests).
const FORMATS: Array<[string, string]> = [
  ['pbkdf2:sha256:260000', 'gR7abc9XyZk2mQ4t'], // werkzeug 2.0–2.2's default
  ['pbkdf2:sha256:1000', 'sälz€'],
  ['pbkdf2:sha1:1000', 'gR7abc9X'],
  ['pbkdf2:sha224:1000', 'gR7abc9X'],
  ['pbkdf2:sha384:1000', 'gR7abc9X'],
  ['pbkdf2:sha512:2000', 'gR7abc9XyZk2mQ4t'],
  ['pbkdf2:md5:1000', 'gR7abc9X'],
  ['pbkdf2:sha3_256:1000', 'gR7abc9X'],
  ['pbkdf2:blake2b:1000', 'gR7abc9X'],
  ['scrypt:32768:8:1', 'gR7abc9XyZk2mQ4t'], // werkzeug 2.3+'s default
  ['scrypt:1024:8:2', 'sälz€'],
  ['md5', 'gR7abc9X'], // pre-2.3: HMAC keyed by the salt
  ['sha1', 'gR7abc9X'],
  ['sha224', 'gR7abc9X'],
  ['sha256', 'gR7abc9XyZk2mQ4t'],
  ['sha384', 'sälz€'],
  ['sha512', 'gR7abc9X'],
  ['sha3_512', 'gR7abc9X'],
  ['blake2s', 'gR7abc9X'],
  ['md5', ''], // unsalted
  ['sha1', ''],
  ['sha256', ''],
  ['plain', ''],
];

let made: WerkzeugAnswer;
const madeFor = (password: string, format: number): string => made.hash[PASSWORDS.concat(BACKUP_CODE).indexOf(password) * FORMATS.length + format]!;

beforeAll(async () => {
  made = await askWerkzeug({ hash: PASSWORDS.concat(BACKUP_CODE).flatMap((password) => FORMATS.map(([method, salt]) => [password, method, salt] as [string, string, string])) });
}, SLOW);

describe('werkzeug hashes made by werkzeug itself', () => {
  it('come from the installed werkzeug 2.2 (which still writes the pre-2.3 forms)', () => {
    expect(made.werkzeug).toMatch(/^2\.2\./);
    expect(madeFor(NON_ASCII, FORMATS.findIndex(([m, s]) => m === 'sha256' && s !== ''))).toMatch(/^sha256\$gR7abc9XyZk2mQ4t\$[0-9a-f]{64}$/);
    expect(madeFor('pa$$word', FORMATS.length - 1)).toBe('plain$$pa$$word');
  }, SLOW);

  it.each(FORMATS.map(([method, salt], index) => ({ method, salt, index })))('verify in the $method format (salt "$salt"): right secret true, others false', async ({ index }) => {
    const checks: Array<[stored: string, secret: string, expected: boolean]> = PASSWORDS.map((password) => [madeFor(password, index), password, true]);
    const stored = madeFor(NON_ASCII, index);
    for (const wrong of [`${NON_ASCII} `, NON_ASCII.slice(0, -1), NON_ASCII.normalize('NFD'), '']) checks.push([stored, wrong, false]);
    const code = madeFor(BACKUP_CODE, index); // the same function serves the Flask app's backup codes
    checks.push([code, BACKUP_CODE, true], [code, '5675f6ae', false], [code, BACKUP_CODE.toUpperCase(), false]);
    expect(checks.every(([hash]) => isLegacyPasswordHash(hash))).toBe(true);
    const results = await Promise.all(checks.map(([hash, secret]) => verifySecret(hash, secret)));
    expect(results.map((ok, i) => `${checks[i]![0]} / ${checks[i]![1]} → ${ok}`)).toEqual(checks.map(([hash, secret, ok]) => `${hash} / ${secret} → ${ok}`));
  }, SLOW);

  it('names each format for reports', () => {
    const formats = FORMATS.map((_, index) => parseWerkzeugHash(madeFor(NON_ASCII, index))?.format);
    expect(formats).toEqual([
      'pbkdf2:sha256', 'pbkdf2:sha256', 'pbkdf2:sha1', 'pbkdf2:sha224', 'pbkdf2:sha384', 'pbkdf2:sha512', 'pbkdf2:md5', 'pbkdf2:sha3_256', 'pbkdf2:blake2b',
      'scrypt', 'scrypt',
      'salted md5', 'salted sha1', 'salted sha224', 'salted sha256', 'salted sha384', 'salted sha512', 'salted sha3_512', 'salted blake2s',
      'unsalted md5', 'unsalted sha1', 'unsalted sha256', 'plain',
    ]);
  }, SLOW);
});

describe('werkzeug hashes: agreement with werkzeug check_password_hash', () => {
  // Each case is checked by werkzeug (2.2.2's check_password_hash, and werkzeug ≥ 2.3's reading of scrypt and a bare or
  // count-less pbkdf2) and by us; the answers must agree, edge cases included.
  it('answers as werkzeug does, case by case', async () => {
    const [pbkdf2, salted, unsalted, plain, scrypt] = (await askWerkzeug({
      hash: [['pw', 'pbkdf2:sha256:1000', 'NaCl'], ['pw', 'sha256', 'NaCl'], ['pw', 'md5', ''], ['pa$$w', 'plain', ''], ['pw', 'scrypt:1024:4:1', 'NaCl']],
    })).hash as [string, string, string, string, string];
    const hex = (stored: string) => stored.slice(stored.lastIndexOf('$') + 1);
    const countless = `pbkdf2:sha256$NaCl$${pbkdf2Sync('pw', 'NaCl', 260_000, 32, 'sha256').toString('hex')}`; // werkzeug 2.2 reads it with 260,000
    const bare = `pbkdf2$NaCl$${pbkdf2Sync('pw', 'NaCl', 600_000, 32, 'sha256').toString('hex')}`; // werkzeug 2.3–3.0 read it with 600,000
    const cases: Array<[string, string]> = [
      [pbkdf2, 'pw'], [pbkdf2, 'pW'], [pbkdf2.replace('1000$', '1001$'), 'pw'], [pbkdf2.replace('NaCl', 'NaCL'), 'pw'],
      [pbkdf2.replace(':1000$', ':$'), 'pw'], [pbkdf2.replace(':1000$', ':1000:1$'), 'pw'], [pbkdf2.replace('NaCl', ''), 'pw'],
      [countless, 'pw'], [countless, 'pw '], [bare, 'pw'],
      [salted, 'pw'], [salted, 'p'], [salted.toUpperCase().replace('SHA256$NACL', 'sha256$NaCl'), 'pw'], [salted.replace('sha256', 'sha512'), 'pw'],
      [salted.slice(0, -2), 'pw'], [`${salted}00`, 'pw'], [salted.replace('NaCl', ''), 'pw'],
      [unsalted, 'pw'], [unsalted, 'PW'], [`md5$$${hex(unsalted).slice(2)}`, 'pw'],
      [plain, 'pa$$w'], [plain, 'pa$$'], [plain, 'pa$$w '], ['plain$salt$pa$$w', 'pa$$w'], ['plain$$', ''], ['plain$$', 'x'],
      [scrypt, 'pw'], [scrypt, 'px'], [scrypt.replace(':1024:4:1', ':1024:4'), 'pw'], [scrypt.replace('NaCl', 'NaCk'), 'pw'],
      ['plain', 'plain'], ['plain$pw', 'pw'], ['', ''], ['$$', ''], ['sha256$$', 'pw'], ['nosuchhash$salt$00', 'pw'],
    ];
    const werkzeug = (await askWerkzeug({ check: cases })).check;
    const ours = await Promise.all(cases.map(([stored, password]) => verifyWerkzeugHash(stored, password)));
    expect(ours.map((ok, i) => `${cases[i]![0].slice(0, 40)} / ${cases[i]![1]} → ${ok}`)).toEqual(werkzeug.map((ok, i) => `${cases[i]![0].slice(0, 40)} / ${cases[i]![1]} → ${ok}`));
    expect(werkzeug.filter(Boolean).length).toBeGreaterThanOrEqual(9); // the corpus holds real matches, not only refusals
  }, SLOW);

  it('reads a count-less pbkdf2 hash with every default werkzeug has shipped (it always wrote the count, but checks without one)', async () => {
    expect(WERKZEUG_DEFAULT_PBKDF2_ITERATIONS).toEqual([1_000_000, 600_000, 260_000, 150_000, 50_000, 1_000]);
    for (const iterations of [260_000, 1_000]) { // werkzeug 2.2's, and the last one tried
      const stored = `pbkdf2:sha1$salt$${pbkdf2Sync('pw', 'salt', iterations, 20, 'sha1').toString('hex')}`;
      expect(await verifyWerkzeugHash(stored, 'pw'), String(iterations)).toBe(true);
    }
    expect(await verifyWerkzeugHash(`pbkdf2:sha1$salt$${pbkdf2Sync('pw', 'salt', 1_000, 20, 'sha1').toString('hex')}`, 'px')).toBe(false);
    expect(await verifyWerkzeugHash(`pbkdf2:sha1$salt$${pbkdf2Sync('pw', 'salt', 2_000, 20, 'sha1').toString('hex')}`, 'pw')).toBe(false);
  }, SLOW);

  it('follows the documented algorithm that made the scrypt vectors: it gives werkzeug 2.2.2’s own values for the formats 2.2.2 makes', async () => {
    const inputs: Array<[string, string, string]> = [[NON_ASCII, 'pbkdf2:sha512:1000', 'sälz€'], [LONG, 'sha256', 'NaCl'], [LONG, 'md5', ''], [NON_ASCII, 'plain', '']];
    const answer = await askWerkzeug({ hash: inputs, documented: inputs });
    expect(answer.hash.map((stored) => stored.slice(stored.indexOf('$', stored.indexOf('$') + 1) + 1))).toEqual(answer.documented);
  }, SLOW);
});
