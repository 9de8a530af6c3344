/** The RFC 4648 §6 base32 alphabet. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

const DECODE_TABLE: ReadonlyMap<string, number> = new Map([...ALPHABET].map((char, index) => [char, index]));

/**
 * Encodes bytes as RFC 4648 §6 base32: uppercase, without `=` padding (the Key Uri Format omits it).
 * @example encodeBase32(Buffer.from('foobar')) === 'MZXW6YTBOI'
 */
export function encodeBase32(bytes: Uint8Array): string {
  let output = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      output += ALPHABET[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1; // keep only the bits not yet emitted, so `buffer` never overflows
  }
  if (bits > 0) output += ALPHABET[(buffer << (5 - bits)) & 31];
  return output;
}

/**
 * Decodes RFC 4648 §6 base32, ignoring case, spaces and `=` padding; throws TypeError on any other character.
 * @example decodeBase32('mzxw 6ytb oi======').toString() === 'foobar'
 */
export function decodeBase32(text: string): Buffer {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  const output: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of clean) {
    const value = DECODE_TABLE.get(char);
    if (value === undefined) throw new TypeError(`Invalid base32 character ${JSON.stringify(char)}`);
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      output.push((buffer >>> bits) & 0xff);
    }
    buffer &= (1 << bits) - 1;
  }
  // Leftover bits (< 8) are the zero padding of the final quantum (RFC 4648 §6) and are dropped.
  return Buffer.from(output);
}
