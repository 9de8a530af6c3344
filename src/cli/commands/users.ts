import { systemClock } from '../../lib/clock.ts';
import { UsersService } from '../../modules/users/users.service.ts';
import { listUsers } from '../../modules/users/user-listing.ts';
import type { CliCommand } from '../cli-command.ts';
import { readPassword } from '../read-password.ts';

/** `crew users create USERNAME`: adds an account (the way in when CREW_REGISTRATION=closed). */
export const usersCreateCommand: CliCommand = {
  name: 'users create',
  description: 'create an account; the password is prompted for (or read from the first line of stdin)',
  args: ['<username>'],
  options: [
    ['--email <email>', 'e-mail address'],
    ['--admin', 'give the account the admin role (CREW_REQUIRE_2FA=admins covers it)'],
    ['--json', 'machine-readable output'],
  ],
  async run(ctx, [username], opts) {
    const password = await readPassword(`Password for ${username}: `, { confirmPrompt: 'Repeat the password: ' });
    return ctx.withDatabase(async (open) => {
      const user = await new UsersService({ db: open.db, clock: systemClock }).createUser({
        username: username!,
        password,
        email: typeof opts.email === 'string' ? opts.email : null,
        role: opts.admin ? 'admin' : 'user',
      });
      ctx.out.line(`✓ Created user ${user.username} (id ${user.id}${user.role === 'admin' ? ', admin' : ''})`);
      ctx.out.result({ user: { id: user.id, username: user.username, role: user.role } });
      return 0;
    });
  },
};

/** `crew users list`: every account and whether 2FA is on. */
export const usersListCommand: CliCommand = {
  name: 'users list',
  description: 'list accounts and their two-factor status',
  options: [['--json', 'machine-readable output']],
  async run(ctx) {
    return ctx.withDatabase(
      async (open) => {
        const users = await listUsers(open.db);
        for (const u of users) ctx.out.line(`${String(u.id).padStart(4)}  ${u.username.padEnd(24)} ${u.role.padEnd(6)} 2FA ${u.twoFactorEnabled ? 'on' : 'off'}`);
        if (users.length === 0) ctx.out.line('(no users)');
        ctx.out.result({ users });
        return 0;
      },
      { readOnly: true },
    );
  },
};
