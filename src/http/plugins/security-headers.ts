import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';
import { AppError } from '../../lib/app-error.ts';

/**
 * Strict Content-Security-Policy: only our own scripts, styles and images; no inline script or style, no framing,
 * forms post only to us (OWASP ASVS 14.4.3, 14.4.6, 14.4.7).
 */
export const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
} as const;

/** helmet's options for every answer: helmet's defaults (HSTS, nosniff, COOP, CORP…) with the CSP above. */
export const HELMET_OPTIONS: Readonly<HelmetOptions> = {
  contentSecurityPolicy: { useDefaults: false, directives: { ...CONTENT_SECURITY_POLICY } },
  // 'same-origin', not 'no-referrer': with no-referrer Chromium sends `Origin: null` on our own form posts.
  referrerPolicy: { policy: 'same-origin' },
  frameguard: { action: 'deny' },
  crossOriginEmbedderPolicy: false,
};

/**
 * The headers helmet sets with `options`, computed once by running helmet's own middleware against a recorder.
 * @fastify/helmet rebuilt that middleware (CSP parsing included) on every request, a tenth of a signed-in request's
 * CPU in our profile (docs/PERFORMANCE.md); our directives are constants, so the result is the same for every answer.
 * @example securityHeaderSet()['x-frame-options'] // 'DENY'
 */
export function securityHeaderSet(options: Readonly<HelmetOptions> = HELMET_OPTIONS): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string) {
      headers[name.toLowerCase()] = value;
    },
    removeHeader() {}, // X-Powered-By, which Fastify never sets
  };
  let finished = false;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
    finished = true;
  });
  // A directive given as a function (a per-request nonce) would make helmet read the request; ours never do.
  if (!finished) throw new TypeError('helmet did not finish synchronously: the security headers cannot be computed once');
  return Object.freeze(headers);
}

function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}

/** Whether a state-changing request comes from another site (Sec-Fetch-Site, else an Origin naming another host). */
function isCrossSiteWrite(request: FastifyRequest): boolean {
  if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return false;
  if (request.headers['sec-fetch-site'] === 'cross-site') return true;
  const origin = request.headers.origin;
  return origin !== undefined && hostOf(origin) !== request.host;
}

/**
 * Security headers (helmet's, computed once at start-up by {@link securityHeaderSet}) on every answer, and an Origin /
 * Sec-Fetch-Site check that refuses cross-site state-changing requests before any work (OWASP CSRF Prevention Cheat
 * Sheet, "Verifying Origin With Standard Headers"). One onRequest hook, so refusals and 404s carry the headers too.
 */
export const securityHeaders = fp(
  async (app: FastifyInstance) => {
    const headers = securityHeaderSet();
    // Callback style, not async: no promise per request for work that never waits.
    app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      reply.headers(headers);
      done(isCrossSiteWrite(request) ? new AppError('csrf_invalid', 'Cross-site requests are refused.') : undefined);
    });
  },
  { name: 'crew-security-headers' },
);
