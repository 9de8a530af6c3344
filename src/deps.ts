import { hkdfSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { AppDb } from './db/database.ts';
import type { Dialect, OpenDatabase } from './db/open-database.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import { loadOrCreateKeyFile, readKeyFile } from './lib/key-file.ts';
import { systemRandom, type RandomSource } from './lib/random.ts';
import { SecretBox, parseEncryptionKeys } from './lib/secret-box.ts';
import { MissingKeyError } from './modules/two-factor/encryption-keys.ts';
import { TwoFactorRepository } from './modules/two-factor/two-factor.repository.ts';

/** Everything the HTTP layer and the services need, passed in explicitly (no import-time singletons). */
export interface AppDeps {
  config: Config;
  db: AppDb;
  dialect: Dialect;
  clock: Clock;
  random: RandomSource;
  /** Encrypts TOTP secrets at rest (AES-256-GCM envelope). */
  secretBox: SecretBox;
  /** 32-byte key that signs the pre-sign-in CSRF cookie; derived from the encryption key so every instance agrees. */
  csrfKey: Buffer;
  /** A pino logger to use instead of creating one; `false` silences logging (tests). */
  logger?: Logger | false;
}

/**
 * Returns the encryption keys: CREW_ENCRYPTION_KEY when set, else the 0600 key file `<dbpath>.key` beside a SQLite database.
 * @example encryptionKeysFor(config, open) // [Buffer(32)]
 */
export function encryptionKeysFor(config: Config, open: Pick<OpenDatabase, 'adapter'>): Buffer[] {
  if (config.encryptionKeys) return parseEncryptionKeys(config.encryptionKeys);
  if (open.adapter.databaseFile) {
    const path = keyFilePathOf(open);
    return existsSync(path) ? readKeyFile(path) : [loadOrCreateKeyFile(path)];
  }
  throw new Error('CREW_ENCRYPTION_KEY is required with PostgreSQL (every instance must share it)');
}

/** The key file beside a SQLite database (`<dbpath>.key`). */
function keyFilePathOf(open: Pick<OpenDatabase, 'adapter'>): string {
  return `${open.adapter.databaseFile}.key`;
}

/**
 * Where the encryption keys come from, as messages name it: `CREW_ENCRYPTION_KEY` or `the key file PATH`.
 * @example keySourceOf(config, open) // 'the key file /srv/production_crew.db.key'
 */
export function keySourceOf(config: Config, open: Pick<OpenDatabase, 'adapter'>): string {
  return config.encryptionKeys || !open.adapter.databaseFile ? 'CREW_ENCRYPTION_KEY' : `the key file ${keyFilePathOf(open)}`;
}

/** The configured keys and where they came from; `keys` is empty when there are none to read (see {@link loadKeyRing}). */
export interface KeyRing {
  keys: Buffer[];
  source: string;
}

/**
 * Loads the encryption keys, creating the SQLite key file only for a database that holds no encrypted secret: a
 * missing key file beside encrypted secrets means the key was lost or moved, and a new key could never decrypt them,
 * so this throws MissingKeyError naming the file and the key ids in use. With `create: false` (read-only commands) a
 * missing key file gives an empty ring instead of a new file.
 * @example const ring = await loadKeyRing(config, open, { create: true });
 */
export async function loadKeyRing(config: Config, open: Pick<OpenDatabase, 'adapter' | 'db'>, options: { create: boolean }): Promise<KeyRing> {
  const source = keySourceOf(config, open);
  if (config.encryptionKeys || !open.adapter.databaseFile) return { keys: encryptionKeysFor(config, open), source };
  const path = keyFilePathOf(open);
  if (existsSync(path)) return { keys: readKeyFile(path), source };
  const inUse = (await open.adapter.listTables(open.db)).includes('two_factor_auth')
    ? (await new TwoFactorRepository(open.db).countSecretsByKeyId()).filter((c) => c.keyId !== null)
    : [];
  if (inUse.length > 0) {
    const list = inUse.map((c) => `${c.keyId} (${c.count} secret(s))`).join(', ');
    throw new MissingKeyError(
      `the key file ${path} is missing, but the database holds TOTP secrets encrypted with key id ${list}. ` +
        'Restore that file from your backups (or set CREW_ENCRYPTION_KEY to the key). crew will not create a new key: it could not decrypt them',
      inUse.map((c) => c.keyId!),
    );
  }
  return { keys: options.create ? [loadOrCreateKeyFile(path)] : [], source };
}

/**
 * Builds AppDeps from a loaded Config and an open database; `overrides` lets tests inject a clock, random source or logger.
 * @example const deps = createDeps(config, await openDatabase(config.database), { clock: new ManualClock() });
 */
export function createDeps(config: Config, open: OpenDatabase, overrides: Partial<Pick<AppDeps, 'clock' | 'random' | 'logger'>> & { keys?: Buffer[] } = {}): AppDeps {
  const keys = overrides.keys ?? encryptionKeysFor(config, open);
  // HKDF (RFC 5869) gives a separate key for cookie signing, so the encryption key is never used for two purposes.
  const csrfKey = Buffer.from(hkdfSync('sha256', keys[0]!, Buffer.alloc(0), 'production-crew csrf cookie v1', 32));
  return {
    config,
    db: open.db,
    dialect: open.dialect,
    clock: overrides.clock ?? systemClock,
    random: overrides.random ?? systemRandom,
    secretBox: new SecretBox(keys),
    csrfKey,
    ...(overrides.logger !== undefined ? { logger: overrides.logger } : {}),
  };
}
