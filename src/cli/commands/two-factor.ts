import { systemClock } from '../../lib/clock.ts';
import { getTwoFactorStatusByUsername, resetTwoFactorByOperator } from '../../modules/two-factor/two-factor-management.ts';
import { TwoFactorRepository } from '../../modules/two-factor/two-factor.repository.ts';
import type { CliCommand } from '../cli-command.ts';

/** `crew 2fa status USER`: whether 2FA is on, backup codes left, any lockout. */
export const twoFactorStatusCommand: CliCommand = {
  name: '2fa status',
  description: "show a user's two-factor status",
  args: ['<username>'],
  options: [['--json', 'machine-readable output']],
  async run(ctx, [username]) {
    return ctx.withDatabase(
      async (open) => {
        const s = await getTwoFactorStatusByUsername({ db: open.db, clock: systemClock, twoFactor: new TwoFactorRepository(open.db) }, username!);
        ctx.out.line(`${s.username}: two-factor authentication ${s.enabled ? 'ON' : 'off'}`);
        if (s.enabled) ctx.out.line(`  enabled since ${s.createdAt?.toISOString() ?? 'unknown'}; ${s.backupCodesRemaining} backup code(s) left`);
        if (s.lockedUntil) ctx.out.line(`  ! locked after failed codes until ${s.lockedUntil.toISOString()}`);
        ctx.out.result(s);
        return 0;
      },
      { readOnly: true },
    );
  },
};

/** `crew 2fa reset USER`: removes a user's 2FA (lost phone and backup codes), after confirmation. */
export const twoFactorResetCommand: CliCommand = {
  name: '2fa reset',
  description: "remove a user's two-factor set-up so they can enrol again (after verifying who they are!)",
  args: ['<username>'],
  options: [
    ['-y, --yes', 'do not ask for confirmation'],
    ['--json', 'machine-readable output'],
  ],
  async run(ctx, [username], opts) {
    if (!opts.yes) {
      if (!ctx.interactive) {
        ctx.out.error('refusing to reset two-factor authentication without confirmation: pass --yes', 'confirmation_required');
        return 1;
      }
      if (!(await ctx.confirm(`Remove two-factor authentication for ${username}? Type "yes": `))) return 1;
    }
    return ctx.withDatabase(async (open) => {
      // Also signs out the user's sessions, which were signed in with the old factor.
      const r = await resetTwoFactorByOperator({ db: open.db, clock: systemClock, twoFactor: new TwoFactorRepository(open.db) }, username!);
      ctx.out.line(r.removed ? `✓ Two-factor authentication removed for ${r.username}; ${r.sessionsEnded} session(s) signed out${r.passkeysRemoved ? `, ${r.passkeysRemoved} passkey(s) removed` : ''}. They can sign in with the password and enrol again` : `${r.username} had no two-factor set-up; nothing changed`);
      ctx.out.result(r);
      return 0;
    });
  },
};
