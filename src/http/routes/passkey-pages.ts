import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AppError } from '../../lib/app-error.ts';
import { revokeRememberedDevice, revokeRememberedDevices } from '../../modules/remembered-devices/remembered-devices.ts';
import { CsrfForm, Field } from '../schemas.ts';

const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,12}$' }) });
const RenameForm = Type.Object({ name: Field(200), _csrf: Field(200) });

/**
 * The passkey forms of /settings/security that need no JavaScript: rename and remove (adding one is WebAuthn, through
 * /static/passkeys.js and the JSON API). Register beside securityPageRoutes. Another user's passkey id is a 404.
 */
export const passkeyPageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { passkeys } = app.services;

  app.post('/settings/security/passkeys/:id/rename', { schema: { params: IdParams, body: RenameForm } }, async (request, reply) => {
    if (!(await passkeys.rename(request.auth!.user.id, Number(request.params.id), request.body.name, request.meta))) throw new AppError('not_found');
    return reply.redirect('/settings/security?notice=passkey-renamed', 303);
  });

  app.post('/settings/security/passkeys/:id/remove', { schema: { params: IdParams, body: CsrfForm } }, async (request, reply) => {
    if (!(await passkeys.remove(request.auth!.user.id, Number(request.params.id), request.meta))) throw new AppError('not_found');
    return reply.redirect('/settings/security?notice=passkey-removed', 303);
  });
};

/** Forgetting remembered devices on /settings/security (plain forms): one, or all of them. */
export const rememberedDevicePageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/settings/security/devices/:id/forget', { schema: { params: IdParams, body: CsrfForm } }, async (request, reply) => {
    if (!(await revokeRememberedDevice(app.deps, request.auth!.user.id, Number(request.params.id), request.meta))) throw new AppError('not_found');
    return reply.redirect('/settings/security?notice=device-forgotten', 303);
  });

  app.post('/settings/security/devices/forget-all', { schema: { body: CsrfForm } }, async (request, reply) => {
    await revokeRememberedDevices(app.deps, request.auth!.user.id, 'user_request', request.meta);
    return reply.redirect('/settings/security?notice=devices-forgotten', 303);
  });
};
