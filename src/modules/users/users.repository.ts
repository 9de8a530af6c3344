import { sql } from 'kysely';
import type { AppDb } from '../../db/database.ts';
import { parseDbTimestamp } from '../../lib/db-timestamp.ts';

/** A user as the app sees it; the password hash is only returned by {@link UsersRepository.findCredentialsByUsername}. */
export interface User {
  id: number;
  username: string;
  email: string | null;
  role: string;
  /** Null when an adopted row holds a timestamp that cannot be read. */
  createdAt: Date | null;
}

type UserRow = { id: number; username: string; email: string | null; role: string; created_at: Date | string };

/** Decodes a users row (as selected by this repository or by a join that reads the same columns) into a User. */
export function toUser(row: UserRow): User {
  return { id: Number(row.id), username: row.username, email: row.email, role: row.role, createdAt: parseDbTimestamp(row.created_at) };
}

/**
 * SQL access to the `users` table (usernames match case-insensitively). Both sides of every name comparison go through
 * the database's own lower(), so a name matches itself on each engine: SQLite's lower() folds only ASCII, and folding
 * the typed side in JavaScript instead locked out adopted Flask users with non-ASCII names (issue 7). The unique index
 * on lower(username) (migration 0007) holds the same rule.
 */
export class UsersRepository {
  constructor(private readonly db: AppDb) {}

  /** Finds a user by id. */
  async findById(id: number): Promise<User | null> {
    const row = await this.db.selectFrom('users').select(['id', 'username', 'email', 'role', 'created_at']).where('id', '=', id).executeTakeFirst();
    return row ? toUser(row) : null;
  }

  /** Finds a user by username, ignoring case (the same match as sign-in); the lowest id wins if legacy rows differ only in case. */
  async findByUsername(username: string): Promise<User | null> {
    const row = await this.db
      .selectFrom('users')
      .select(['id', 'username', 'email', 'role', 'created_at'])
      .where(sql`lower(username)`, '=', sql<string>`lower(${username})`)
      .orderBy('id')
      .executeTakeFirst();
    return row ? toUser(row) : null;
  }

  /** Finds a user and the password hash by username, ignoring case. */
  async findCredentialsByUsername(username: string): Promise<{ user: User; passwordHash: string } | null> {
    const row = await this.db
      .selectFrom('users')
      .select(['id', 'username', 'email', 'role', 'created_at', 'password_hash'])
      .where(sql`lower(username)`, '=', sql<string>`lower(${username})`)
      .orderBy('id')
      .executeTakeFirst();
    return row ? { user: toUser(row), passwordHash: row.password_hash } : null;
  }

  /** Stores a new password hash only if the row still holds `oldHash` (compare-and-swap); returns whether it did. */
  async replacePasswordHash(id: number, oldHash: string, newHash: string): Promise<boolean> {
    const result = await this.db
      .updateTable('users')
      .set({ password_hash: newHash })
      .where('id', '=', id)
      .where('password_hash', '=', oldHash)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Inserts a user; returns null when the username is taken (checked case-insensitively, and by the UNIQUE index). */
  async insert(input: { username: string; email: string | null; passwordHash: string; role?: string }): Promise<User | null> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        const taken = await trx.selectFrom('users').select('id').where(sql`lower(username)`, '=', sql<string>`lower(${input.username})`).executeTakeFirst();
        if (taken) return null;
        const row = await trx
          .insertInto('users')
          .values({ username: input.username, email: input.email, password_hash: input.passwordHash, role: input.role ?? 'user' })
          .returning(['id', 'username', 'email', 'role', 'created_at'])
          .executeTakeFirstOrThrow();
        return toUser(row);
      });
    } catch (error) {
      if (isUniqueViolation(error)) return null;
      throw error;
    }
  }
}

/** Tells whether a driver error is a UNIQUE constraint violation (SQLite or PostgreSQL 23505). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
