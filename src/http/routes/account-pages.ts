import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import { listSecurityEvents, type SecurityEventType } from '../../modules/audit/security-events.ts';
import { authRateLimit } from '../plugins/auth-rate-limit.ts';
import { mustEnrol } from '../plugins/require-session.ts';
import { compactCode } from '../schemas.ts';

const CsrfForm = Type.Object({ _csrf: Type.String({ maxLength: 200 }) });
const CodeForm = Type.Object({ code: Type.String({ maxLength: 64 }), _csrf: Type.String({ maxLength: 200 }) });

/** How each security event reads on the settings page. */
export const EVENT_LABELS: Record<SecurityEventType, string> = {
  register: 'Account created',
  sign_in_password: 'Password accepted',
  sign_in_failed: 'Failed sign-in',
  sign_in_with_code: 'Signed in with an authenticator code',
  sign_in_with_backup_code: 'Signed in with a backup code',
  two_factor_code_failed: 'Wrong two-factor code',
  two_factor_replay_refused: 'Reused two-factor code refused',
  two_factor_lockout: 'Two-factor sign-in locked',
  two_factor_setup: 'Two-factor set-up started',
  two_factor_enabled: 'Two-factor authentication enabled',
  two_factor_disabled: 'Two-factor authentication disabled',
  two_factor_reset_by_operator: 'Two-factor authentication reset by an operator',
  backup_codes_regenerated: 'New backup codes generated',
  sign_out: 'Signed out',
};

/** A data: URL of the backup codes as a .txt file: a download link that needs no script (CSP-safe). */
function backupCodesDownloadHref(codes: readonly string[], issuer: string, username: string): string {
  const text = [`${issuer} backup codes for ${username}`, 'Each code works once.', '', ...codes, ''].join('\n');
  return `data:text/plain;charset=utf-8,${encodeURIComponent(text)}`;
}

/** The home page, for fully signed-in users whom CREW_REQUIRE_2FA does not hold back. */
export async function homePageRoutes(app: FastifyInstance): Promise<void> {
  app.get('/', async (request, reply) => {
    const status = await app.services.enrollment.status(request.auth!.user.id);
    return reply.page('home', { title: 'Home', status });
  });
}

/** Security settings and the enrolment flow: status → Enable 2FA → QR page → code → backup codes (shown once). */
export async function securityPageRoutes(app: FastifyInstance): Promise<void> {
  const { config } = app.deps;
  const { enrollment } = app.services;

  app.get('/settings/security', async (request, reply) => {
    const auth = request.auth!;
    const [status, pending, events] = await Promise.all([
      enrollment.status(auth.user.id),
      app.services.twoFactor.findByUserId(auth.user.id),
      listSecurityEvents(app.deps.db, auth.user.id, 20),
    ]);
    return reply.page('security', {
      title: 'Security settings',
      status,
      setupInProgress: pending !== null && !pending.enabled,
      mustEnrol: mustEnrol(config, auth),
      events: events.map((e) => ({ label: EVENT_LABELS[e.type] ?? e.type, at: e.createdAt.toISOString().replace('T', ' ').slice(0, 19) + ' UTC', ip: e.ip })),
    });
  });

  app.post('/settings/security/2fa/setup', { config: authRateLimit(config), schema: { body: CsrfForm } }, async (request, reply) => {
    try {
      await enrollment.begin(request.auth!.user, request.meta);
    } catch (error) {
      if (error instanceof AppError && error.code === 'two_factor_already_enabled') return reply.redirect('/settings/security', 303);
      throw error;
    }
    return reply.redirect('/settings/security/2fa/setup', 303);
  });

  app.get('/settings/security/2fa/setup', async (request, reply) => {
    const details = await enrollment.pending(request.auth!.user);
    if (!details) return reply.redirect('/settings/security', 303);
    return reply.page('two-factor-setup', { title: 'Enable two-factor authentication', details });
  });

  app.post('/settings/security/2fa/enable', { config: authRateLimit(config), schema: { body: CodeForm } }, async (request, reply) => {
    const user = request.auth!.user;
    const code = compactCode((request.body as Static<typeof CodeForm>).code);
    try {
      if (!/^\d{6}$/.test(code)) throw new AppError('invalid_code', 'Enter the 6-digit code from your authenticator app.');
      const codes = await enrollment.confirm(user, code, request.meta);
      return reply.page('backup-codes', {
        title: 'Your backup codes',
        codes,
        downloadHref: backupCodesDownloadHref(codes, config.issuer, user.username),
        scripts: ['/static/copy.js'],
      });
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      if (error.code === 'two_factor_not_set_up' || error.code === 'two_factor_already_enabled') return reply.redirect('/settings/security', 303);
      if (error.code !== 'invalid_code') throw error;
      const details = await enrollment.pending(user);
      if (!details) return reply.redirect('/settings/security', 303);
      return reply.page('two-factor-setup', { title: 'Enable two-factor authentication', details, error: error.message }, 400);
    }
  });
}
