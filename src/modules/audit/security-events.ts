import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import { prepareQuery } from '../../db/prepared-query.ts';

/** The security events the app records (ASVS V7.2: log authentication decisions, never the secrets). */
export type SecurityEventType =
  | 'register'
  | 'sign_in_password'
  | 'sign_in_failed'
  | 'sign_in_throttled'
  | 'password_changed'
  | 'session_revoked'
  | 'other_sessions_revoked'
  | 'sign_in_with_code'
  | 'sign_in_with_backup_code'
  | 'two_factor_code_failed'
  | 'two_factor_replay_refused'
  | 'two_factor_lockout'
  | 'two_factor_setup'
  | 'two_factor_enabled'
  | 'two_factor_disabled'
  | 'two_factor_reset_by_operator'
  | 'backup_codes_regenerated'
  | 'sign_out'
  | 'passkey_added'
  | 'passkey_renamed'
  | 'passkey_removed'
  | 'sign_in_with_passkey'
  | 'passkey_sign_in_failed'
  | 'passkey_clone_refused'
  | 'passkeys_removed_by_operator'
  | 'device_remembered'
  | 'sign_in_remembered_device'
  | 'remembered_device_revoked'
  | 'remembered_devices_revoked';

/** Where a request came from, for the audit row. */
export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
}

/** One recorded event as shown on /settings/security. */
export interface SecurityEvent {
  id: number;
  type: SecurityEventType;
  ip: string | null;
  userAgent: string | null;
  detail: Record<string, unknown> | null;
  createdAt: Date;
}

const EVENT_COLUMNS = ['user_id', 'type', 'ip', 'user_agent', 'detail', 'created_at_ms'] as const;

function prepareInsert(db: Kysely<Database>) {
  return prepareQuery(EVENT_COLUMNS, (p) =>
    db.insertInto('security_events').values({ user_id: p('user_id'), type: p('type'), ip: p('ip'), user_agent: p('user_agent'), detail: p('detail'), created_at_ms: p('created_at_ms') }),
  );
}

/**
 * The INSERT compiled once per Kysely instance (see prepareQuery): every sign-in writes one, and building and compiling it
 * per call cost more CPU than SQLite spent running it. Keyed weakly: a transaction's instance is dropped with it.
 */
const preparedInserts = new WeakMap<Kysely<Database>, ReturnType<typeof prepareInsert>>();

/**
 * Appends a security event. `detail` must never hold a code, secret, password or token.
 * @example await recordSecurityEvent(db, { userId: 1, type: 'two_factor_enabled', meta, at: clock.now() })
 */
export async function recordSecurityEvent(
  db: Kysely<Database>,
  event: { userId: number | null; type: SecurityEventType; meta?: RequestMeta; detail?: Record<string, unknown>; at: Date },
): Promise<void> {
  let insert = preparedInserts.get(db);
  if (!insert) preparedInserts.set(db, (insert = prepareInsert(db)));
  const values = {
    user_id: event.userId,
    type: event.type,
    ip: event.meta?.ip ?? null,
    user_agent: event.meta?.userAgent?.slice(0, 300) ?? null,
    detail: event.detail ? JSON.stringify(event.detail) : null,
    created_at_ms: event.at.getTime(),
  };
  await db.executeQuery(insert.bind(values));
}

/** The newest events of one user, newest first. */
export async function listSecurityEvents(db: Kysely<Database>, userId: number, limit = 20): Promise<SecurityEvent[]> {
  const rows = await db
    .selectFrom('security_events')
    .select(['id', 'type', 'ip', 'user_agent', 'detail', 'created_at_ms'])
    .where('user_id', '=', userId)
    .orderBy('created_at_ms', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    type: r.type as SecurityEventType,
    ip: r.ip,
    userAgent: r.user_agent,
    detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null,
    createdAt: new Date(Number(r.created_at_ms)),
  }));
}
