import { hkdfSync } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { AppDb } from './db/database.ts';
import type { Dialect, OpenDatabase } from './db/open-database.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import { loadOrCreateKeyFile } from './lib/key-file.ts';
import { systemRandom, type RandomSource } from './lib/random.ts';
import { SecretBox, parseEncryptionKeys } from './lib/secret-box.ts';

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
  if (open.adapter.databaseFile) return [loadOrCreateKeyFile(`${open.adapter.databaseFile}.key`)];
  throw new Error('CREW_ENCRYPTION_KEY is required with PostgreSQL (every instance must share it)');
}

/**
 * Builds AppDeps from a loaded Config and an open database; `overrides` lets tests inject a clock, random source or logger.
 * @example const deps = createDeps(config, await openDatabase(config.database), { clock: new ManualClock() });
 */
export function createDeps(config: Config, open: OpenDatabase, overrides: Partial<Pick<AppDeps, 'clock' | 'random' | 'logger'>> = {}): AppDeps {
  const keys = encryptionKeysFor(config, open);
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
