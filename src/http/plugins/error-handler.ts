import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../../lib/app-error.ts';
import { formatWait } from '../format-wait.ts';

/** Whether a request gets JSON answers (the /api routes and /healthz) rather than pages and redirects. */
export function isApi(request: FastifyRequest): boolean {
  return request.url.startsWith('/api/') || request.url === '/api' || request.url === '/healthz';
}

/** Maps Fastify's own errors (validation, body parsing, limits) and anything else onto the AppError catalogue. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const e = error as FastifyError & { validation?: unknown };
  if (e?.validation) return new AppError('invalid_input', `Invalid request: ${e.message}`);
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media_type');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('invalid_input', 'The body is empty; send a JSON object.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('invalid_input', 'The Content-Length header does not match the body.');
  }
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status === 413) return new AppError('payload_too_large');
  if (status === 415) return new AppError('unsupported_media_type');
  if (status === 404) return new AppError('not_found');
  // A JSON syntax error and every other 4xx the framework raises is bad input, never a 5xx.
  if (status >= 400 && status < 500) return new AppError('invalid_input', 'The request body could not be read.');
  return new AppError('internal', undefined, {}, { cause: error });
}

/** Sets the Retry-After header (seconds) of a refusal that says when to try again, e.g. a 429; returns those seconds. */
export function setRetryAfter(reply: FastifyReply, error: AppError): number | undefined {
  const seconds = error.extra.retryAfterSeconds;
  if (seconds !== undefined) reply.header('retry-after', String(seconds));
  return seconds;
}

/** The heading (and title) of the error page for a status: "Page not found" for a 404, as people expect. */
export function errorPageHeading(statusCode: number): string {
  if (statusCode === 404) return 'Page not found';
  if (statusCode === 429) return 'Too many attempts';
  return statusCode >= 500 ? 'Something went wrong' : 'That did not work';
}

/** Sends an AppError as `{ error: { code, message } }` (API; a 429 adds `retryAfterSeconds`) or as an HTML page (pages). */
export async function sendError(request: FastifyRequest, reply: FastifyReply, error: AppError): Promise<FastifyReply> {
  setRetryAfter(reply, error);
  if (isApi(request)) {
    const body: { code: string; message: string; retryAfterSeconds?: number; details?: unknown } = { code: error.code, message: error.message };
    if (error.extra.retryAfterSeconds !== undefined) body.retryAfterSeconds = error.extra.retryAfterSeconds;
    if (error.extra.details !== undefined) body.details = error.extra.details;
    const retry = error.extra.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.extra.retryAfterSeconds };
    return reply.code(error.statusCode).header('cache-control', 'no-store').send({ error: body, ...retry });
  }
  if (error.code === 'not_authenticated') return reply.redirect('/login', 303);
  const heading = errorPageHeading(error.statusCode);
  const retryAfter = error.extra.retryAfterSeconds;
  const wait = retryAfter === undefined ? null : formatWait(retryAfter); // the Retry-After header, in words
  return reply.page('error', { title: heading, heading, message: error.message, wait }, error.statusCode);
}

/**
 * One error handler and one not-found handler for the whole app: the contract's error shape, no stack traces, and
 * server errors logged without request bodies (OWASP ASVS 7.4.1).
 */
export const errorHandler = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler(async (error, request, reply) => {
      const appError = toAppError(error);
      if (appError.statusCode >= 500) request.log.error({ err: error }, 'request failed');
      else request.log.info({ code: appError.code, status: appError.statusCode }, 'request refused');
      return sendError(request, reply, appError);
    });
    app.setNotFoundHandler(async (request, reply) => sendError(request, reply, new AppError('not_found')));
  },
  { name: 'crew-error-handler' },
);
