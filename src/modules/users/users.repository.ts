import { sql } from 'kysely';
import type { AppDb } from '../../db/database.ts';

/** A user as the app sees it; the password hash is only returned by {@link UsersRepository.findCredentialsByUsername}. */
export interface User {
  id: number;
  username: string;
  email: string | null;
  role: string;
  createdAt: Date;
}

type UserRow = { id: number; username: string; email: string | null; role: string; created_at: Date | string };

function toUser(row: UserRow): User {
  const created = row.created_at instanceof Date ? row.created_at : new Date(`${String(row.created_at).replace(' ', 'T')}Z`);
  return { id: Number(row.id), username: row.username, email: row.email, role: row.role, createdAt: created };
}

/** SQL access to the `users` table (usernames match case-insensitively). */
export class UsersRepository {
  constructor(private readonly db: AppDb) {}

  /** Finds a user by id. */
  async findById(id: number): Promise<User | null> {
    const row = await this.db.selectFrom('users').select(['id', 'username', 'email', 'role', 'created_at']).where('id', '=', id).executeTakeFirst();
    return row ? toUser(row) : null;
  }

  /** Finds a user and the password hash by username, ignoring case. */
  async findCredentialsByUsername(username: string): Promise<{ user: User; passwordHash: string } | null> {
    const row = await this.db
      .selectFrom('users')
      .select(['id', 'username', 'email', 'role', 'created_at', 'password_hash'])
      .where(sql`lower(username)`, '=', username.toLowerCase())
      .orderBy('id')
      .executeTakeFirst();
    return row ? { user: toUser(row), passwordHash: row.password_hash } : null;
  }

  /** Inserts a user; returns null when the username is taken (checked case-insensitively, and by the UNIQUE index). */
  async insert(input: { username: string; email: string | null; passwordHash: string; role?: string }): Promise<User | null> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        const taken = await trx.selectFrom('users').select('id').where(sql`lower(username)`, '=', input.username.toLowerCase()).executeTakeFirst();
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
