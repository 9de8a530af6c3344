import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const KEY_BYTES = 32; // AES-256
const IV_BYTES = 12; // 96-bit nonce, the size NIST SP 800-38D §8.2 recommends for GCM
const TAG_BYTES = 16; // full 128-bit tag (NIST SP 800-38D §5.2.1.2)
/** IVs drawn from the CSPRNG at a time: one randomBytes call per 256 envelopes (each call cost ~15 µs, more than the cipher). */
const IV_POOL_BYTES = IV_BYTES * 256;
const ENVELOPE = /^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$/;

interface Keyed {
  id: string;
  key: Buffer;
}

/** Names a key by the first 8 hex characters of its SHA-256, so an envelope says which key made it without revealing it. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/**
 * Authenticated encryption of short secrets at rest (TOTP seeds; OWASP ASVS 6.2.x) with AES-256-GCM in a versioned
 * envelope `v1.<keyId>.<iv>.<ciphertext>.<tag>` (base64url parts), so keys can rotate: the first key encrypts, every key decrypts.
 * @example const box = new SecretBox([newKey, oldKey]); const stored = box.encrypt(secret); box.decrypt(stored) === secret
 */
export class SecretBox {
  readonly #keys: readonly Keyed[];
  #ivPool: Buffer = Buffer.alloc(0);
  #ivOffset = 0;

  constructor(keys: readonly Buffer[]) {
    if (!Array.isArray(keys) || keys.length === 0) throw new TypeError('SecretBox needs at least one key');
    this.#keys = keys.map((key, index) => {
      if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
        throw new TypeError(`SecretBox key #${index + 1} must be a ${KEY_BYTES}-byte Buffer`);
      }
      return { id: keyIdOf(key), key: Buffer.from(key) };
    });
  }

  /** The id (first 8 hex chars of SHA-256) of the key new envelopes are made with. */
  get currentKeyId(): string {
    return this.#keys[0]!.id;
  }

  /** The ids of every configured key, the encrypting one first. */
  get keyIds(): string[] {
    return this.#keys.map((k) => k.id);
  }

  /** Encrypts a UTF-8 string with the first key and a fresh random 96-bit IV. */
  encrypt(plaintext: string): string {
    const { id, key } = this.#keys[0]!;
    // A random 96-bit IV per message; with few messages per key the GCM nonce-reuse bound (2^32, SP 800-38D §8.3) is far away.
    const iv = this.#nextIv();
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    // The header is authenticated too, so the version and key id cannot be altered undetected.
    cipher.setAAD(Buffer.from(`${VERSION}.${id}`, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, id, iv.toString('base64url'), ciphertext.toString('base64url'), tag.toString('base64url')].join('.');
  }

  /**
   * A fresh random 96-bit IV: the next unused 12 bytes of a CSPRNG block (what Node's own randomUUID does with its
   * cache). Each byte is used once, and a new block is a new Buffer, so an IV is never reused (SP 800-38D §8.2.2).
   */
  #nextIv(): Buffer {
    if (this.#ivOffset + IV_BYTES > this.#ivPool.length) {
      this.#ivPool = randomBytes(IV_POOL_BYTES);
      this.#ivOffset = 0;
    }
    const iv = this.#ivPool.subarray(this.#ivOffset, this.#ivOffset + IV_BYTES);
    this.#ivOffset += IV_BYTES;
    return iv;
  }

  /** Decrypts an envelope; throws an Error when it is malformed, no configured key made it, or it fails authentication. */
  decrypt(envelope: string): string {
    if (!SecretBox.isEnvelope(envelope)) throw new Error('SecretBox: value is not a v1 encryption envelope');
    const [, id, ivText, ciphertextText, tagText] = envelope.split('.') as [string, string, string, string, string];
    const candidates = this.#keys.filter((k) => k.id === id);
    if (candidates.length === 0) {
      throw new Error(
        `SecretBox: no configured key has id ${id}; the key that encrypted this value is missing from CREW_ENCRYPTION_KEY`,
      );
    }
    const iv = Buffer.from(ivText, 'base64url');
    const ciphertext = Buffer.from(ciphertextText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    for (const { key } of candidates) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(`${VERSION}.${id}`, 'utf8'));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
      } catch {
        // An 8-hex-char id can collide; try any other key with the same id before giving up.
      }
    }
    throw new Error(`SecretBox: authentication failed for key ${id}; the value was tampered with or the key is wrong`);
  }

  /** Tells whether a stored value looks like a v1 envelope (as opposed to, say, a legacy plaintext base32 secret). */
  static isEnvelope(value: string): boolean {
    return typeof value === 'string' && ENVELOPE.test(value);
  }

  /** Tells whether an envelope was made with a key other than the current (first) one and should be re-encrypted. */
  needsReencryption(envelope: string): boolean {
    if (!SecretBox.isEnvelope(envelope)) return true;
    return envelope.split('.')[1] !== this.currentKeyId;
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;

/**
 * Parses CREW_ENCRYPTION_KEY: a comma-separated list of base64 32-byte keys, newest (encrypting) first.
 * Throws an Error naming CREW_ENCRYPTION_KEY (never echoing key material) on bad input.
 * @example parseEncryptionKeys(`${newKeyBase64},${oldKeyBase64}`)
 */
export function parseEncryptionKeys(value: string): Buffer[] {
  const hint = 'each key must be 32 random bytes in base64 (generate one with: openssl rand -base64 32)';
  const parts = String(value ?? '')
    .split(',')
    .map((part) => part.trim());
  if (parts.length === 0 || parts.every((part) => part === '')) {
    throw new Error(`CREW_ENCRYPTION_KEY is empty; ${hint}`);
  }
  return parts.map((part, index) => {
    const position = parts.length > 1 ? ` (key #${index + 1} of ${parts.length})` : '';
    if (part === '') throw new Error(`CREW_ENCRYPTION_KEY has an empty entry${position}; ${hint}`);
    if (!BASE64.test(part)) throw new Error(`CREW_ENCRYPTION_KEY is not valid base64${position}; ${hint}`);
    const key = Buffer.from(part, 'base64');
    if (key.length !== KEY_BYTES) {
      throw new Error(`CREW_ENCRYPTION_KEY decodes to ${key.length} bytes, not ${KEY_BYTES}${position}; ${hint}`);
    }
    return key;
  });
}
