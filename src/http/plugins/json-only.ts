import type { onRequestHookHandler } from 'fastify';
import { AppError } from '../../lib/app-error.ts';

/**
 * The /api context's one onRequest hook. A request that carries a body must send it as application/json (415
 * otherwise), checked before the body is read; this also stops HTML-form (cross-site) posts to the API. Every answer
 * gets `Cache-Control: no-store`, because API answers may carry secrets (set-up, backup codes; OWASP ASVS 8.2.1): set
 * here rather than in an onSend hook, one hook per request instead of two (no /api route sets another Cache-Control,
 * and refusals set no-store themselves).
 */
export const jsonApi: onRequestHookHandler = (request, reply, done) => {
  reply.header('cache-control', 'no-store');
  const length = request.headers['content-length'];
  const hasBody = (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
  const type = hasBody ? (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() : 'application/json';
  // Callback style, not async: no promise per request for work that never waits.
  done(type === 'application/json' ? undefined : new AppError('unsupported_media_type'));
};
