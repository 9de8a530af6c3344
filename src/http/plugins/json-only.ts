import type { onRequestHookHandler } from 'fastify';
import { AppError } from '../../lib/app-error.ts';

/**
 * An onRequest hook for the /api context: a request that carries a body must send it as application/json (415
 * otherwise), checked before the body is read. This also stops HTML-form (cross-site) posts to the API.
 */
export const jsonOnly: onRequestHookHandler = async (request) => {
  const length = request.headers['content-length'];
  const hasBody = (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
  if (!hasBody) return;
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new AppError('unsupported_media_type');
};
