import type { AppDb } from '../../db/database.ts';

/** One row of `crew users list`. */
export interface UserListing {
  id: number;
  username: string;
  email: string | null;
  role: string;
  twoFactorEnabled: boolean;
}

/** Every user with whether two-factor authentication is enabled, by id. */
export async function listUsers(db: AppDb): Promise<UserListing[]> {
  const rows = await db
    .selectFrom('users')
    .leftJoin('two_factor_auth', 'two_factor_auth.user_id', 'users.id')
    .select(['users.id', 'users.username', 'users.email', 'users.role', 'two_factor_auth.enabled'])
    .orderBy('users.id')
    .execute();
  return rows.map((r) => ({ id: Number(r.id), username: r.username, email: r.email, role: r.role, twoFactorEnabled: Boolean(r.enabled) }));
}
