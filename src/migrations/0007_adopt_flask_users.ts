import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Expectations, MigrationContext } from '../migrate/migration.ts';

// Adopts the earlier Flask app's users (issue 7). Flask-SQLAlchemy named the table after `class User`: `user`, which
// 0001 never looked at, so crew started with an empty `users` and two_factor_auth.user_id kept pointing at `user`.
// This copies every `user` row into `users` KEEPING ITS ID (so each two_factor_auth row stays with its owner), makes
// later ids continue above the highest adopted one, and points two_factor_auth.user_id at users(id). The `user` table
// itself is left exactly as it was: it is the way back (down()). Set-based SQL throughout, so a million users is one
// INSERT … SELECT, not a loop. Frozen once released.

/** SQLite: table rebuilds (the 12-step ALTER procedure), so the runner switches foreign keys off around the transaction. */
export const rebuildsTables = true;

export const expects: Expectations = {
  users: { id: 'required', username: 'required', password_hash: 'required' },
  two_factor_auth: { user_id: 'required' },
};

/**
 * How down() hands Flask a crew argon2id hash: werkzeug's check_password_hash raises on `$argon2id$…` (a 500 in the
 * Flask app), but reads `sha256$crew-argon2id$<hash>` as an HMAC-SHA256 whose hex can never equal `$argon2id$…`, so
 * Flask refuses it politely (that user resets the password there) and up() unwraps it again, losing nothing.
 */
const WRAPPED_ARGON2 = 'sha256$crew-argon2id$';
/** The index that keeps usernames unique ignoring case (as sign-in and registration compare them). */
const LOWER_USERNAME_INDEX = 'users_username_lower_key';
/** Rows listed at most in an error message. */
const LIST_AT_MOST = 20;

const FLASK = sql.table('user'); // quoted: `user` is a reserved word on PostgreSQL

export async function up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  const flaskColumns = await ctx.columnsOf('user');
  if (flaskColumns === null) {
    await failOnCaseClashes(db, sql.table('users'), 'users');
    await sql`CREATE UNIQUE INDEX IF NOT EXISTS ${sql.id(LOWER_USERNAME_INDEX)} ON users (lower(username))`.execute(db);
    ctx.report('✓ no Flask "user" table: nothing to adopt; usernames are unique ignoring case');
    return;
  }
  const missing = ['id', 'username', 'password_hash'].filter((c) => !flaskColumns.includes(c));
  if (missing.length > 0) throw new Error(`the "user" table lacks ${missing.join(', ')}: it is not the Flask app's, and crew will not guess`);

  await failOnCaseClashes(db, FLASK, '"user"');
  await failOnClashesWithUsers(db);
  await failOnOrphanTwoFactorRows(db);
  const formats = await passwordHashFormats(db, ctx);
  const adopted = await copyFlaskUsers(db, ctx, flaskColumns);
  await failOnCaseClashes(db, sql.table('users'), 'users'); // the adopted rows beside any crew made
  await sql`CREATE UNIQUE INDEX IF NOT EXISTS ${sql.id(LOWER_USERNAME_INDEX)} ON users (lower(username))`.execute(db);
  const highest = await continueIdsAbove(db, ctx);
  // Adopted backup codes wrapped by an earlier down() are crew's argon2id hashes again.
  await sql`UPDATE two_factor_auth SET backup_codes = replace(backup_codes, ${`"${WRAPPED_ARGON2}`}, '"') WHERE backup_codes LIKE ${`%${WRAPPED_ARGON2}%`}`.execute(db);
  const repointed = await pointTwoFactorAt(db, ctx, 'users');

  ctx.report(`✓ adopted ${adopted} user(s) from the Flask "user" table, keeping their ids; new ids continue above ${highest}`);
  ctx.report(`  password hash formats: ${formats.length > 0 ? formats.join(', ') : 'none'} (each becomes argon2id at its first sign-in)`);
  const tfa = await twoFactorCounts(db);
  ctx.report(`  two_factor_auth rows: ${tfa.enabled} enabled, ${tfa.pending} pending, ${tfa.disabled} disabled`);
  ctx.report(`  legacy backup codes kept: ${tfa.legacyCodesEnabled} of users with 2FA enabled (each works once), ${tfa.legacyCodesDisabled} left in disabled rows`);
  ctx.report(repointed ? '✓ two_factor_auth.user_id now references users(id)' : '✓ two_factor_auth.user_id already references users(id)');
  ctx.report('  the "user" table is left as it was (the way back: crew migrate adopt_flask_users --rollback)');
}

export async function down(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
  await sql`DROP INDEX IF EXISTS ${sql.id(LOWER_USERNAME_INDEX)}`.execute(db);
  const flaskColumns = await ctx.columnsOf('user');
  if (flaskColumns === null) return; // nothing was adopted
  await failOnIdsTakenInFlask(db);
  const copied = await copyCrewUsersToFlask(db, ctx, flaskColumns);
  const decrypted = await decryptSecrets(db, ctx);
  // Flask's check_password_hash raises on crew's argon2id backup-code hashes; wrapped, it refuses them instead.
  await sql`UPDATE two_factor_auth SET backup_codes = replace(backup_codes, '"$argon2', ${`"${WRAPPED_ARGON2}$argon2`}) WHERE backup_codes LIKE '%"$argon2%'`.execute(db);
  // First away from users, whose ON DELETE CASCADE would otherwise take every 2FA row with the next statements.
  await pointTwoFactorAt(db, ctx, 'user');
  // Every account is in "user" now; crew's own rows go, so that a later `crew migrate` adopts them again cleanly.
  // Sessions and audit events of those users go with them (PostgreSQL would cascade; SQLite has foreign keys off here).
  for (const table of ['sessions', 'security_events']) {
    if ((await ctx.columnsOf(table)) !== null) await sql`DELETE FROM ${sql.table(table)} WHERE user_id IN (SELECT id FROM users)`.execute(db);
  }
  await sql`DELETE FROM users`.execute(db);
  ctx.report(`✓ two_factor_auth.user_id references the Flask "user" table again; ${decrypted} secret(s) decrypted to base32`);
  ctx.report(`✓ ${copied} user(s) created in crew copied to "user"; crew's users, sessions and audit events removed (they are in the backup)`);
  if (copied > 0) ctx.report('  ! werkzeug cannot check crew\'s argon2id password hashes: those users must reset their password in the Flask app');
}

type Clash = { id: number | string; username: string };

function describeRows(rows: Array<{ id: number | string; username: string }>): string {
  return rows.map((r) => `[${r.id}] ${JSON.stringify(r.username)}`).join(', ');
}

/** Usernames that differ only by case would be one account to crew's sign-in: fail listing them (a person must rename). */
async function failOnCaseClashes(db: Kysely<any>, table: RawBuilder<unknown>, label: string): Promise<void> {
  const rows = await sql<Clash>`
    SELECT id, username FROM ${table}
    WHERE lower(username) IN (SELECT lower(username) FROM ${table} GROUP BY lower(username) HAVING count(*) > 1)
    ORDER BY lower(username), id LIMIT ${LIST_AT_MOST}`.execute(db);
  if (rows.rows.length === 0) return;
  throw new Error(
    `usernames in ${label} must be unique ignoring case, but these differ only by case: ${describeRows(rows.rows)}. ` +
      'Rename one of each (in the Flask app, while it still runs) and run crew migrate again; nothing was changed',
  );
}

/**
 * A database migrated by an older crew holds sign-ups in `users` whose ids or names are also Flask users': merging
 * them would hand one person's account (and 2FA) to another, so the run fails listing them and loses nothing.
 */
async function failOnClashesWithUsers(db: Kysely<any>): Promise<void> {
  const rows = await sql<{ crew_id: number; crew_name: string; flask_id: number; flask_name: string }>`
    SELECT u.id AS crew_id, u.username AS crew_name, f.id AS flask_id, f.username AS flask_name
    FROM users u JOIN ${FLASK} f ON f.id = u.id OR lower(f.username) = lower(u.username)
    ORDER BY u.id LIMIT ${LIST_AT_MOST}`.execute(db);
  if (rows.rows.length === 0) return;
  const listed = rows.rows.map((r) => `users [${r.crew_id}] ${JSON.stringify(r.crew_name)} vs "user" [${r.flask_id}] ${JSON.stringify(r.flask_name)}`).join('; ');
  throw new Error(
    `users already holds rows that clash with the Flask "user" table (same id, or same username ignoring case) — a database an older crew migrated: ${listed}. ` +
      'Nothing was changed. Move or delete those crew rows (they were made after the Flask app, see docs/MIGRATION_GUIDE.md) and run crew migrate again',
  );
}

/** Flask never switched SQLite's foreign keys on, so a 2FA row may outlive its user; pointing it at users would fail. */
async function failOnOrphanTwoFactorRows(db: Kysely<any>): Promise<void> {
  const rows = await sql<{ user_id: number }>`
    SELECT t.user_id FROM two_factor_auth t
    WHERE NOT EXISTS (SELECT 1 FROM ${FLASK} f WHERE f.id = t.user_id) AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = t.user_id)
    ORDER BY t.user_id LIMIT ${LIST_AT_MOST}`.execute(db);
  if (rows.rows.length === 0) return;
  throw new Error(
    `two_factor_auth has rows for users that exist in neither "user" nor users (user_id ${rows.rows.map((r) => r.user_id).join(', ')}): ` +
      'delete them (their accounts are gone) and run crew migrate again; nothing was changed',
  );
}

/** The werkzeug hash formats among the Flask passwords, counted in SQL (a million rows never cross into JavaScript). */
async function passwordHashFormats(db: Kysely<any>, ctx: MigrationContext): Promise<string[]> {
  const method = ctx.dialect === 'postgres' ? sql`split_part(password_hash, '$', 1)` : sql`substr(password_hash, 1, instr(password_hash, '$') - 1)`;
  const salt = ctx.dialect === 'postgres' ? sql`split_part(password_hash, '$', 2)` : sql`substr(password_hash, instr(password_hash, '$') + 1, 1)`;
  const rows = await sql<{ method: string | null; unsalted: number | boolean; wrapped: number | boolean; n: number | string }>`
    SELECT ${method} AS method, CASE WHEN ${salt} IN ('', '$') THEN 1 ELSE 0 END AS unsalted,
           CASE WHEN substr(password_hash, 1, ${WRAPPED_ARGON2.length}) = ${WRAPPED_ARGON2} THEN 1 ELSE 0 END AS wrapped, count(*) AS n
    FROM ${FLASK} GROUP BY 1, 2, 3`.execute(db);
  const counts = new Map<string, number>();
  for (const row of rows.rows) {
    const label = formatLabel(row.method ?? '', Number(row.unsalted) === 1, Number(row.wrapped) === 1);
    counts.set(label, (counts.get(label) ?? 0) + Number(row.n));
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([label, n]) => `${label} ×${n}`);
}

/** Names a werkzeug method as parseWerkzeugHash does: `pbkdf2:sha256`, `scrypt`, `salted sha1`, `unsalted md5`, `plain`. */
function formatLabel(method: string, unsalted: boolean, wrapped: boolean): string {
  if (wrapped || method === '') return 'argon2id (crew)';
  if (method.startsWith('pbkdf2')) return `pbkdf2:${method.split(':')[1] ?? 'sha256'}`;
  if (method.startsWith('scrypt')) return 'scrypt';
  if (method === 'plain') return 'plain';
  return `${unsalted ? 'unsalted' : 'salted'} ${method}`;
}

/** One INSERT … SELECT: ids kept, a hash wrapped by down() unwrapped, Flask's naive UTC created_at read as UTC. */
async function copyFlaskUsers(db: Kysely<any>, ctx: MigrationContext, columns: string[]): Promise<number> {
  const pg = ctx.dialect === 'postgres';
  const now = pg ? sql`now()` : sql`CURRENT_TIMESTAMP`;
  const email = columns.includes('email') ? sql`f.email` : sql`NULL`;
  const created = !columns.includes('created_at')
    ? now
    : pg
      ? sql`coalesce(f.created_at AT TIME ZONE 'UTC', ${now})` // timestamp without time zone, written by datetime.utcnow
      : sql`coalesce(strftime('%Y-%m-%d %H:%M:%S', f.created_at), f.created_at, ${now})`;
  const result = await sql`
    INSERT INTO users (id, username, email, password_hash, role, created_at, updated_at)
    SELECT f.id, f.username, ${email},
           CASE WHEN substr(f.password_hash, 1, ${WRAPPED_ARGON2.length}) = ${WRAPPED_ARGON2} THEN substr(f.password_hash, ${WRAPPED_ARGON2.length + 1}) ELSE f.password_hash END,
           'user', ${created}, ${created}
    FROM ${FLASK} f ORDER BY f.id`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/**
 * New ids continue above the highest one in users. SQLite's AUTOINCREMENT (0001) already moved sqlite_sequence past the
 * explicit ids; PostgreSQL's serial sequence does not move by itself, so it is set here.
 */
async function continueIdsAbove(db: Kysely<any>, ctx: MigrationContext): Promise<number> {
  const max = Number((await sql<{ m: number | null }>`SELECT max(id) AS m FROM users`.execute(db)).rows[0]?.m ?? 0);
  if (ctx.dialect === 'postgres' && max > 0) await sql`SELECT setval(pg_get_serial_sequence('users', 'id'), ${max})`.execute(db);
  return max;
}

/**
 * Makes two_factor_auth.user_id reference `users` (up) or the Flask `user` table (down); returns whether it changed.
 * SQLite cannot alter a foreign key, so this is its 12-step rebuild: the table's own CREATE text with only the
 * reference changed (types, defaults, checks and added columns kept), copy, drop, rename, indexes recreated; the runner
 * has foreign keys off around the transaction and runs `PRAGMA foreign_key_check` before commit. PostgreSQL: drop the
 * constraint and add the new one (which checks every row).
 */
async function pointTwoFactorAt(db: Kysely<any>, ctx: MigrationContext, parent: 'users' | 'user'): Promise<boolean> {
  const other = parent === 'users' ? 'user' : 'users';
  const onDelete = parent === 'users' ? sql` ON DELETE CASCADE` : sql``; // crew's 0002 cascades; Flask's model did not
  if (ctx.dialect === 'postgres') {
    const found = await sql<{ conname: string }>`
      SELECT conname FROM pg_constraint
      WHERE contype = 'f' AND conrelid = 'two_factor_auth'::regclass AND confrelid = ${`"${other}"`}::regclass`.execute(db);
    if (found.rows.length === 0) return false;
    for (const { conname } of found.rows) await sql`ALTER TABLE two_factor_auth DROP CONSTRAINT ${sql.id(conname)}`.execute(db);
    await sql`ALTER TABLE two_factor_auth ADD CONSTRAINT two_factor_auth_user_id_fkey FOREIGN KEY (user_id) REFERENCES ${sql.table(parent)} (id)${onDelete}`.execute(db);
    return true;
  }
  const fks = await sql<{ table: string }>`SELECT "table" FROM pragma_foreign_key_list('two_factor_auth')`.execute(db);
  if (!fks.rows.some((fk) => fk.table.toLowerCase() === other)) return false;
  const table = await sql<{ sql: string }>`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'two_factor_auth'`.execute(db);
  const indexes = await sql<{ sql: string }>`SELECT sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND tbl_name = 'two_factor_auth' AND sql IS NOT NULL`.execute(db);
  const created = table.rows[0]!.sql;
  // `REFERENCES user (id)` as SQLAlchemy wrote it, or `references "users" ("id") on delete cascade` as Kysely did.
  const reference = new RegExp(`REFERENCES\\s+(?:"${other}"|\`${other}\`|\\[${other}\\]|${other})\\s*\\(\\s*"?id"?\\s*\\)(?:\\s+ON\\s+DELETE\\s+CASCADE)?`, 'gi');
  const name = /^CREATE\s+TABLE\s+(?:"two_factor_auth"|`two_factor_auth`|\[two_factor_auth\]|two_factor_auth)\s*\(/i;
  if ((created.match(reference) ?? []).length !== 1 || !name.test(created)) {
    throw new Error(`cannot find the one reference to ${other}(id) in two_factor_auth's definition; a person must look at it: ${created}`);
  }
  const rebuilt = created
    .replace(name, 'CREATE TABLE two_factor_auth__crew_rebuild (')
    .replace(reference, `REFERENCES "${parent}" ("id")${parent === 'users' ? ' ON DELETE CASCADE' : ''}`);
  await sql.raw(rebuilt).execute(db);
  await sql`INSERT INTO two_factor_auth__crew_rebuild SELECT * FROM two_factor_auth`.execute(db);
  await sql`DROP TABLE two_factor_auth`.execute(db);
  await sql`ALTER TABLE two_factor_auth__crew_rebuild RENAME TO two_factor_auth`.execute(db);
  for (const index of indexes.rows) await sql.raw(index.sql).execute(db);
  return true;
}

/** Counts by state (pending = never verified, backup_codes NULL) and the werkzeug-hashed backup codes kept, in SQL. */
async function twoFactorCounts(db: Kysely<any>): Promise<{ enabled: number; pending: number; disabled: number; legacyCodesEnabled: number; legacyCodesDisabled: number }> {
  // A JSON list of hashes holds two `"` per entry (no hash format contains a quote), so counting quotes counts entries
  // without a JSON parser that differs between the engines.
  const entries = sql`(length(backup_codes) - length(replace(backup_codes, '"', ''))) / 2`;
  const legacy = sql`backup_codes IS NOT NULL AND backup_codes NOT LIKE '%$argon2%'`;
  const row = (
    await sql<Record<string, number | string | null>>`
      SELECT sum(CASE WHEN enabled THEN 1 ELSE 0 END) AS enabled,
             sum(CASE WHEN NOT (enabled) OR enabled IS NULL THEN (CASE WHEN backup_codes IS NULL THEN 1 ELSE 0 END) ELSE 0 END) AS pending,
             sum(CASE WHEN NOT (enabled) OR enabled IS NULL THEN (CASE WHEN backup_codes IS NULL THEN 0 ELSE 1 END) ELSE 0 END) AS disabled,
             sum(CASE WHEN enabled AND ${legacy} THEN ${entries} ELSE 0 END) AS legacy_enabled,
             sum(CASE WHEN (NOT (enabled) OR enabled IS NULL) AND ${legacy} THEN ${entries} ELSE 0 END) AS legacy_disabled
      FROM two_factor_auth`.execute(db)
  ).rows[0]!;
  const n = (v: number | string | null | undefined) => Number(v ?? 0);
  return { enabled: n(row.enabled), pending: n(row.pending), disabled: n(row.disabled), legacyCodesEnabled: n(row.legacy_enabled), legacyCodesDisabled: n(row.legacy_disabled) };
}

/**
 * If the Flask app created users while crew ran, its ids may now name other people than crew's rows: copying would
 * give crew's 2FA rows to them. Refuse, listing both, so a person decides.
 */
async function failOnIdsTakenInFlask(db: Kysely<any>): Promise<void> {
  const rows = await sql<{ id: number; crew_name: string; flask_name: string }>`
    SELECT u.id, u.username AS crew_name, f.username AS flask_name FROM users u JOIN ${FLASK} f ON f.id = u.id
    WHERE lower(f.username) <> lower(u.username) ORDER BY u.id LIMIT ${LIST_AT_MOST}`.execute(db);
  if (rows.rows.length === 0) return;
  const listed = rows.rows.map((r) => `[${r.id}] users ${JSON.stringify(r.crew_name)} vs "user" ${JSON.stringify(r.flask_name)}`).join('; ');
  throw new Error(`the Flask "user" table gave ids crew also gave to other people (did the Flask app keep running?): ${listed}; nothing was changed`);
}

/**
 * Copies the users created in crew (ids not in "user") into "user", so their 2FA rows keep an owner. An argon2id
 * hash is wrapped (see WRAPPED_ARGON2); an e-mail another Flask user already has is left out (Flask's column is UNIQUE).
 */
async function copyCrewUsersToFlask(db: Kysely<any>, ctx: MigrationContext, columns: string[]): Promise<number> {
  const pg = ctx.dialect === 'postgres';
  const names = [sql`id`, sql`username`, sql`password_hash`];
  const values = [sql`u.id`, sql`u.username`, sql`CASE WHEN u.password_hash LIKE '$argon2%' THEN ${WRAPPED_ARGON2} || u.password_hash ELSE u.password_hash END`];
  if (columns.includes('email')) {
    names.push(sql`email`);
    values.push(sql`CASE WHEN EXISTS (SELECT 1 FROM ${FLASK} g WHERE g.email = u.email) THEN NULL ELSE u.email END`);
  }
  if (columns.includes('created_at')) {
    names.push(sql`created_at`);
    values.push(pg ? sql`u.created_at AT TIME ZONE 'UTC'` : sql`u.created_at`);
  }
  const result = await sql`
    INSERT INTO ${FLASK} (${sql.join(names)})
    SELECT ${sql.join(values)} FROM users u WHERE NOT EXISTS (SELECT 1 FROM ${FLASK} f WHERE f.id = u.id) ORDER BY u.id`.execute(db);
  // setval is strict: a table without a serial sequence (NULL) is left alone without an error.
  if (pg) await sql`SELECT setval(pg_get_serial_sequence('"user"', 'id'), (SELECT max(id) FROM "user"))`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** crew's v1 AES-256-GCM envelope (src/lib/secret-box.ts), copied here: a released migration must not change with the app. */
const ENVELOPE = /^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}$/;

/** The Flask app reads secrets as plain base32 (pyotp): each envelope is decrypted back, by compare-and-swap on the value. */
async function decryptSecrets(db: Kysely<any>, ctx: MigrationContext): Promise<number> {
  const rows = (await db.selectFrom('two_factor_auth').select(['id', 'secret']).where('secret', 'like', 'v1.%').execute()) as Array<{ id: number; secret: string }>;
  const sealed = rows.filter((r) => ENVELOPE.test(r.secret));
  if (sealed.length === 0) return 0;
  if (!ctx.decryptSecret) throw new Error(`${sealed.length} TOTP secret(s) are encrypted, but no encryption key is configured to decrypt them for the Flask app`);
  for (const row of sealed) {
    await db.updateTable('two_factor_auth').set({ secret: ctx.decryptSecret(row.secret) }).where('id', '=', row.id).where('secret', '=', row.secret).execute();
  }
  return sealed.length;
}
