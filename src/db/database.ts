import type { ColumnType, Generated, Kysely } from 'kysely';

/**
 * Table types of the live schema (after every migration in src/migrations).
 * Times that the app compares in SQL are epoch milliseconds (`*_ms`); the guide's
 * `created_at` columns keep SQL timestamps (SQLite text, PostgreSQL timestamptz).
 */
export interface UsersTable {
  id: Generated<number>;
  username: string;
  email: string | null;
  password_hash: string;
  role: ColumnType<string, string | undefined, string>;
  created_at: ColumnType<Date | string, string | undefined, never>;
  updated_at: ColumnType<Date | string, string | undefined, string>;
}

/** The seed guide's `two_factor_auth` table plus the columns later migrations add. */
export interface TwoFactorAuthTable {
  id: Generated<number>;
  user_id: number;
  /** The AES-256-GCM envelope of the base32 secret (a plain base32 secret in a legacy Flask database). */
  secret: string;
  /** Boolean; SQLite stores 0/1. */
  enabled: ColumnType<boolean | number, boolean | number | undefined, boolean | number>;
  /** JSON array of argon2id hashes of the unused backup codes. */
  backup_codes: string | null;
  created_at: ColumnType<Date | string, string | undefined, never>;
  /** RFC 6238 §5.2: the last accepted time step; a step ≤ this is refused. */
  last_used_totp_step: ColumnType<number | null, number | null | undefined, number | null>;
  failed_attempts: ColumnType<number, number | undefined, number>;
  locked_until_ms: ColumnType<number | null, number | null | undefined, number | null>;
  lockout_count: ColumnType<number, number | undefined, number>;
  updated_at_ms: ColumnType<number | null, number | null | undefined, number | null>;
}

/** Server-side sessions; `id` is the SHA-256 (hex) of the cookie token, never the token. */
export interface SessionsTable {
  id: string;
  user_id: number;
  /** `pending_two_factor` grants only the two-factor step; `authenticated` is a full session. */
  state: string;
  csrf_token: string;
  created_at_ms: number;
  last_seen_at_ms: number;
  expires_at_ms: number;
  two_factor_failures: ColumnType<number, number | undefined, number>;
  ip: string | null;
  user_agent: string | null;
}

/** Audit trail of security events shown on /settings/security. */
export interface SecurityEventsTable {
  id: Generated<number>;
  user_id: number | null;
  type: string;
  ip: string | null;
  user_agent: string | null;
  /** JSON object with non-secret details. */
  detail: string | null;
  created_at_ms: number;
}

/** Per-account password throttling (migration 0008); `key_hash` is an HMAC of the normalised username. */
export interface PasswordThrottleTable {
  key_hash: string;
  /** Consecutive wrong passwords checked since the last success (drives the wait). */
  failed_count: ColumnType<number, number | undefined, number>;
  /** Wrong AND refused (throttled) attempts since the last success: what the user is told after signing in. */
  attempts_since_success: ColumnType<number, number | undefined, number>;
  locked_until_ms: ColumnType<number | null, number | null | undefined, number | null>;
  updated_at_ms: number;
}

/** A user's passkey (WebAuthn credential record, migration 0009); ids and keys base64url. */
export interface PasskeysTable {
  id: Generated<number>;
  user_id: number;
  credential_id: string;
  public_key: string;
  /** WebAuthn §6.1.1 signature counter: advanced by compare-and-swap on every use. */
  sign_count: number;
  /** JSON array of AuthenticatorTransport strings, or null. */
  transports: string | null;
  aaguid: string | null;
  backed_up: ColumnType<number, number | undefined, number>;
  name: string;
  created_at_ms: number;
  last_used_at_ms: number | null;
}

/** An issued WebAuthn challenge, deleted when consumed (single use) and refused after expires_at_ms. */
export interface WebauthnChallengesTable {
  challenge: string;
  /** 'registration' | 'sign_in' | 'second_factor'. */
  purpose: string;
  /** SHA-256 (hex) of the session or ceremony cookie token it was issued to. */
  binding: string;
  user_id: number | null;
  expires_at_ms: number;
}

/** A device whose user ticked "Remember this device for 30 days" (migration 0010); keyed by the SHA-256 of its cookie. */
export interface RememberedDevicesTable {
  id: Generated<number>;
  /** SHA-256 (hex) of the device cookie's token, never the token. */
  token_hash: string;
  user_id: number;
  created_at_ms: number;
  last_used_at_ms: number;
  expires_at_ms: number;
  user_agent: string | null;
  ip: string | null;
}

/** The runner's bookkeeping of applied migrations. */
export interface CrewMigrationsTable {
  id: string;
  name: string;
  checksum: string;
  applied_at: string;
  adopted: ColumnType<boolean | number, boolean | number, boolean | number>;
  execution_ms: number;
}

/** Every table of the application schema. */
export interface Database {
  users: UsersTable;
  two_factor_auth: TwoFactorAuthTable;
  sessions: SessionsTable;
  security_events: SecurityEventsTable;
  password_throttle: PasswordThrottleTable;
  passkeys: PasskeysTable;
  webauthn_challenges: WebauthnChallengesTable;
  remembered_devices: RememberedDevicesTable;
  crew_migrations: CrewMigrationsTable;
}

/** The application's typed Kysely instance. */
export type AppDb = Kysely<Database>;
