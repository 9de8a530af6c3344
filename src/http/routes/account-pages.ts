import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../lib/app-error.ts';
import { listRememberedDevices } from '../../modules/remembered-devices/remembered-devices.ts';
import { listSecurityEvents, type SecurityEvent, type SecurityEventType } from '../../modules/audit/security-events.ts';
import { PENDING_SETUP_LIFETIME_MS } from '../../modules/two-factor/enrollment.service.ts';
import { statusOf, type TwoFactorStatus } from '../../modules/two-factor/two-factor-status.ts';
import { formatUtc, formatWait } from '../format-wait.ts';
import { listUserSessions } from '../../modules/sessions/session-listing.ts';
import { failedAttemptsBeforeLastSignIn } from '../../modules/account/failed-attempts-notice.ts';
import { reauthenticate } from '../../modules/account/reauthenticate.ts';
import { authRateLimit } from '../plugins/auth-rate-limit.ts';
import { setRetryAfter } from '../plugins/error-handler.ts';
import { mustEnrolYet } from '../plugins/require-session.ts';
import { CsrfForm, Field, MAX_PASSWORD_INPUT_LENGTH, NoticeQuery, OneTimeCodeForm } from '../schemas.ts';
import { Type } from '@sinclair/typebox';

/** The set-up form: the password (re-authentication) and the CSRF token. */
const SetupForm = Type.Object({ password: Field(MAX_PASSWORD_INPUT_LENGTH), _csrf: Field(200) });
import { renewSessionsAfterEnablingTwoFactor } from '../session-renewal.ts';


/** How many of the newest security events /settings/security lists (enough to show a whole lockout and what led to it). */
export const SECURITY_EVENTS_SHOWN = 50;

/** With this many backup codes or fewer left, the pages urge the user to generate new ones. */
export const LOW_BACKUP_CODES_WARNING = 3;

/** Whether the pages should urge the user to generate new backup codes. */
function fewBackupCodesLeft(status: TwoFactorStatus): boolean {
  return status.enabled && status.backupCodesRemaining <= LOW_BACKUP_CODES_WARNING;
}

/** Messages a redirect may ask a page to show (`?notice=…`); unknown values show nothing, so the query carries no text. */
const NOTICES: Record<string, string> = {
  'backup-code': 'You signed in with a backup code. That code has now been used and will not work again.',
  'two-factor-disabled': 'Two-factor authentication is off. Your other signed-in sessions were signed out.',
  'setup-expired': 'For your safety a set-up lasts 10 minutes. Enter your password to start again.',
  'password-changed': 'Your password is changed. Every other signed-in session was signed out.',
  'session-ended': 'That session has ended; it is signed out.',
  'other-sessions-ended': 'Every other session has ended; they are signed out.',
  'passkey-added': 'Passkey added. You can now sign in with it, or use it after your password instead of a code.',
  'passkey-renamed': 'Passkey renamed.',
  'passkey-removed': 'Passkey removed. It no longer signs in to this account.',
  'device-forgotten': 'Device forgotten. It will ask for your second factor again.',
  'devices-forgotten': 'All remembered devices forgotten. Each will ask for your second factor again.',
};

/** The notice text for a `?notice=` value, or null. */
export function noticeFor(query: unknown): string | null {
  const key = (query as { notice?: unknown } | undefined)?.notice;
  return typeof key === 'string' && Object.hasOwn(NOTICES, key) ? NOTICES[key]! : null;
}

/** How each security event reads on the settings page. */
export const EVENT_LABELS: Record<SecurityEventType, string> = {
  register: 'Account created',
  sign_in_password: 'Password accepted',
  sign_in_failed: 'Failed sign-in',
  sign_in_throttled: 'Sign-in refused: too many wrong passwords',
  password_changed: 'Password changed',
  session_revoked: 'Signed out a session',
  other_sessions_revoked: 'Signed out all other sessions',
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
  passkey_added: 'Passkey added',
  passkey_renamed: 'Passkey renamed',
  passkey_removed: 'Passkey removed',
  sign_in_with_passkey: 'Signed in with a passkey',
  passkey_sign_in_failed: 'Passkey sign-in refused',
  passkey_clone_refused: 'Passkey refused: its signature counter went back (a possible clone)',
  passkeys_removed_by_operator: 'Passkeys removed by an operator',
  device_remembered: 'Device remembered for 30 days',
  sign_in_remembered_device: 'Signed in on a remembered device',
  remembered_device_revoked: 'Remembered device forgotten',
  remembered_devices_revoked: 'All remembered devices forgotten',
};

/** One event as a sentence: its label plus the detail that matters (backup codes left, lockout length, which check). */
export function describeSecurityEvent(event: Pick<SecurityEvent, 'type' | 'detail'>): string {
  const label = EVENT_LABELS[event.type] ?? event.type;
  const d = event.detail ?? {};
  if (event.type === 'sign_in_with_backup_code' && typeof d.backupCodesRemaining === 'number') return `${label} (${d.backupCodesRemaining} left)`;
  if (event.type === 'sign_in_failed' && typeof d.waitSeconds === 'number') return `${label}; sign-in paused for ${formatWait(d.waitSeconds)}`;
  if (event.type === 'sign_in_failed' && d.purpose === 'reauthenticate') return 'Wrong password when asked to confirm it';
  if (event.type === 'sign_in_failed' && d.purpose === 'change_password') return 'Wrong current password while changing the password';
  if (event.type === 'two_factor_lockout' && typeof d.lockedForSeconds === 'number') return `${label} for ${formatWait(d.lockedForSeconds)}`;
  if (event.type === 'two_factor_code_failed') {
    if (d.factor === 'password') return 'Wrong password while turning off two-factor authentication';
    if (d.method === 'backup_code') return 'Wrong backup code';
    if (d.purpose === 'disable') return `${label} while turning off two-factor authentication`;
    if (d.purpose === 'regenerate_backup_codes') return `${label} while generating new backup codes`;
    if (d.purpose === 'change_password') return `${label} while changing the password`;
  }
  return label;
}

/** A short, readable name for a User-Agent string (the list shows it escaped; the full string stays in the API). */
export function describeUserAgent(userAgent: string | null): string {
  if (!userAgent) return 'Unknown browser';
  const browser = /Edg\//.test(userAgent) ? 'Edge' : /Firefox\//.test(userAgent) ? 'Firefox' : /Chrom(e|ium)\//.test(userAgent) ? 'Chrome' : /Safari\//.test(userAgent) ? 'Safari' : null;
  const system = /Windows/.test(userAgent) ? 'Windows' : /Android/.test(userAgent) ? 'Android' : /iPhone|iPad/.test(userAgent) ? 'iOS' : /Mac OS X/.test(userAgent) ? 'macOS' : /Linux/.test(userAgent) ? 'Linux' : null;
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? userAgent.slice(0, 60);
}

/** A data: URL of the backup codes as a .txt file: a download link that needs no script (CSP-safe). */
function backupCodesDownloadHref(codes: readonly string[], issuer: string, username: string): string {
  const text = [`${issuer} backup codes for ${username}`, 'Each code works once.', '', ...codes, ''].join('\n');
  return `data:text/plain;charset=utf-8,${encodeURIComponent(text)}`;
}

/** Shows freshly issued backup codes once (after enabling 2FA, or new ones after regenerating). */
export function renderBackupCodesPage(
  reply: FastifyReply,
  codes: readonly string[],
  issuer: string,
  username: string,
  heading?: { title: string; lead: string },
): Promise<FastifyReply> {
  return reply.page('backup-codes', {
    title: heading?.title ?? 'Your backup codes',
    heading: heading?.title ?? 'Two-factor authentication is on',
    lead: heading?.lead ?? null,
    codes,
    downloadHref: backupCodesDownloadHref(codes, issuer, username),
    scripts: ['/static/copy.js'],
  });
}

/** A refusal shown beside the form that caused it on /settings/security, and the field in error (else focus goes to the message). */
export interface SecurityFormError {
  form: 'regenerate' | 'disable' | 'setup' | 'password';
  message: string;
  field?: 'password' | 'code' | 'newPassword' | undefined;
}

/**
 * Renders /settings/security for the signed-in user: 2FA status, the enable / regenerate / disable forms and the
 * SECURITY_EVENTS_SHOWN newest security events with readable labels and UTC times; `formError` puts a refusal next to its form.
 */
export async function renderSecurityPage(
  request: FastifyRequest,
  reply: FastifyReply,
  extra: { notice?: string | null; formError?: SecurityFormError } = {},
  statusCode = 200,
): Promise<FastifyReply> {
  const app = request.server;
  const auth = request.auth!;
  // One fresh read of the row (not request.auth's summary): a re-render after a refused step-up must show its effects.
  const [record, events, sessions, passkeys, devices] = await Promise.all([
    app.services.twoFactor.findByUserId(auth.user.id),
    listSecurityEvents(app.deps.db, auth.user.id, SECURITY_EVENTS_SHOWN),
    listUserSessions(app.deps.db, app.services.sessionIdKey, auth.user.id, auth.session.id, app.deps.clock.now().getTime()),
    app.services.passkeys.list(auth.user.id),
    listRememberedDevices(app.deps, auth.user.id),
  ]);
  const nowMs = app.deps.clock.now().getTime();
  const enrolFirst = await mustEnrolYet(request, auth);
  const status = statusOf(record, nowMs);
  const setupStartedAtMs = record && !record.enabled ? await app.services.twoFactor.pendingSetupStartedAtMs(auth.user.id) : null;
  return reply.page('security', {
    title: 'Security settings',
    status,
    setupInProgress: record !== null && !record.enabled,
    // "Continue the set-up" only while it can still be finished (PENDING_SETUP_LIFETIME_MS after the password).
    canContinueSetup: setupStartedAtMs !== null && nowMs - setupStartedAtMs < PENDING_SETUP_LIFETIME_MS,
    mustEnrol: enrolFirst,
    lowBackupCodes: fewBackupCodesLeft(status),
    notice: extra.notice ?? null,
    formError: extra.formError ?? null,
    // Forms that end sessions or change the password need the full sign-in (CREW_REQUIRE_2FA: enrol first).
    accountFormsAllowed: !enrolFirst,
    sessions: sessions.map((x) => ({
      id: x.id,
      current: x.current,
      createdAt: formatUtc(x.createdAt),
      lastSeenAt: formatUtc(x.lastSeenAt),
      ip: x.ip,
      browser: describeUserAgent(x.userAgent),
    })),
    passkeys: passkeys.map((p) => ({ ...p, added: p.createdAt.slice(0, 10), lastUsed: p.lastUsedAt ? formatUtc(new Date(p.lastUsedAt)) : 'never' })),
    scripts: ['/static/simplewebauthn-browser.js', '/static/passkeys.js'],
    devices: devices.map((d) => ({ id: d.id, browser: d.userAgent ?? 'Unknown browser', ip: d.ip, added: formatUtc(d.createdAt), lastUsed: formatUtc(d.lastUsedAt), expires: formatUtc(d.expiresAt).slice(0, 10) })),
    events: events.map((e) => {
      const at = formatUtc(e.createdAt); // 'YYYY-MM-DD HH:MM:SS UTC': the page keeps the date and the time each whole
      return { label: describeSecurityEvent(e), iso: e.createdAt.toISOString(), day: at.slice(0, 10), time: at.slice(11), ip: e.ip };
    }),
  }, statusCode);
}

/** The home page, for fully signed-in users whom CREW_REQUIRE_2FA does not hold back. */
export const homePageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { schema: { querystring: NoticeQuery } }, async (request, reply) => {
    const status = request.auth!.twoFactor;
    const failed = await failedAttemptsBeforeLastSignIn(app.deps.db, request.auth!.user.id);
    const failedAttempts = failed ? { count: failed.count, at: formatUtc(failed.signedInAt) } : null;
    // Without TOTP, a passkey may still be the account's second factor (read only then).
    const passkeyProtected = !status.enabled && (await app.services.passkeys.repository.hasAny(request.auth!.user.id));
    return reply.page('home', { title: 'Home', status, passkeyProtected, notice: noticeFor(request.query), lowBackupCodes: fewBackupCodesLeft(status), failedAttempts });
  });
};

/** Security settings and the enrolment flow: status → Enable 2FA → QR page → code → backup codes (shown once). */
export const securityPageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app.deps;
  const { enrollment } = app.services;

  app.get('/settings/security', { schema: { querystring: NoticeQuery } }, async (request, reply) =>
    renderSecurityPage(request, reply, { notice: noticeFor(request.query) }),
  );

  app.post('/settings/security/2fa/setup', { config: authRateLimit(), schema: { body: SetupForm } }, async (request, reply) => {
    try {
      await reauthenticate(app.services, request.auth!.user.id, request.body.password, request.meta);
    } catch (error) {
      if (!(error instanceof AppError) || !['invalid_credentials', 'too_many_attempts'].includes(error.code)) throw error;
      setRetryAfter(reply, error);
      const message = error.code === 'too_many_attempts' ? `Too many wrong passwords. Try again in ${formatWait(error.extra.retryAfterSeconds ?? 1)}.` : error.message;
      const field = error.code === 'invalid_credentials' ? ('password' as const) : undefined;
      return renderSecurityPage(request, reply, { formError: { form: 'setup', message, field } }, error.statusCode);
    }
    try {
      await enrollment.begin(request.auth!.user, request.meta);
    } catch (error) {
      if (error instanceof AppError && error.code === 'two_factor_already_enabled') return reply.redirect('/settings/security', 303);
      throw error;
    }
    return reply.redirect('/settings/security/2fa/setup', 303);
  });

  app.get('/settings/security/2fa/setup', async (request, reply) => {
    // Null also when the set-up is older than 10 minutes (PENDING_SETUP_LIFETIME_MS): its secret is not shown again.
    const details = await enrollment.pending(request.auth!.user);
    if (!details) return reply.redirect('/settings/security?notice=setup-expired', 303);
    return reply.page('two-factor-setup', { title: 'Enable two-factor authentication', details });
  });

  app.post('/settings/security/2fa/enable', { config: authRateLimit(), schema: { body: OneTimeCodeForm } }, async (request, reply) => {
    const user = request.auth!.user;
    let codes: string[];
    try {
      codes = await enrollment.confirm(user, request.body.code, request.meta);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      if (error.code === 'two_factor_not_set_up') return reply.redirect('/settings/security?notice=setup-expired', 303);
      if (error.code === 'two_factor_already_enabled') return reply.redirect('/settings/security', 303);
      if (error.code !== 'invalid_code' && error.code !== 'invalid_input') throw error;
      const details = await enrollment.pending(user);
      if (!details) return reply.redirect('/settings/security', 303);
      // 400 for input that is not 6 digits, 401 for a wrong code, as the JSON route answers.
      return reply.page('two-factor-setup', { title: 'Enable two-factor authentication', details, error: error.message }, error.statusCode);
    }
    // New token for the new privilege, and sessions opened with the password alone are signed out (ASVS 3.2.1, 3.3.3);
    // the backup-codes page below is rendered for the new session, so its forms carry the new CSRF token.
    await renewSessionsAfterEnablingTwoFactor(request, reply);
    return renderBackupCodesPage(reply, codes, config.issuer, user.username);
  });
};
