import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
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

function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}

/**
 * Security headers (helmet) and an Origin / Sec-Fetch-Site check that refuses cross-site state-changing requests
 * before any work (OWASP CSRF Prevention Cheat Sheet, "Verifying Origin With Standard Headers").
 */
export const securityHeaders = fp(
  async (app: FastifyInstance) => {
    await app.register(helmet, {
      contentSecurityPolicy: { useDefaults: false, directives: { ...CONTENT_SECURITY_POLICY } },
      // 'same-origin', not 'no-referrer': with no-referrer Chromium sends `Origin: null` on our own form posts.
      referrerPolicy: { policy: 'same-origin' },
      frameguard: { action: 'deny' },
      crossOriginEmbedderPolicy: false,
    });
    app.addHook('onRequest', async (request) => {
      if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return;
      if (request.headers['sec-fetch-site'] === 'cross-site') throw new AppError('csrf_invalid', 'Cross-site requests are refused.');
      const origin = request.headers.origin;
      if (origin !== undefined && hostOf(origin) !== request.host) throw new AppError('csrf_invalid', 'Cross-site requests are refused.');
    });
  },
  { name: 'crew-security-headers' },
);
