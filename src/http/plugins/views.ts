import { join } from 'node:path';
import { Eta } from 'eta';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { packageRoot } from '../../lib/package-root.ts';
import { csrfTokenFor } from './csrf.ts';

/** Folder of the .eta templates, read from src/ both under tsx and from the bundled dist/ build. */
export const viewsDir = (): string => join(packageRoot(), 'src', 'http', 'views');

/**
 * Adds `reply.page(template, data, status)`: renders an Eta template with autoEscape on (every `<%= %>` is
 * HTML-escaped; OWASP ASVS 5.3.3) inside the layout, with the signed-in user and the form's CSRF token.
 */
export const views = fp(
  async (app: FastifyInstance) => {
    const eta = new Eta({ views: viewsDir(), autoEscape: true, cache: true });
    app.decorateReply('page', async function page(this: FastifyReply, template: string, data: Record<string, unknown> = {}, statusCode = 200) {
      const request = this.request;
      const html = await eta.renderAsync(template, {
        title: 'Production Crew',
        user: request.auth?.session.state === 'authenticated' ? request.auth.user : null,
        csrfToken: csrfTokenFor(request, this),
        sessionCsrfToken: request.auth?.session.csrfToken ?? '',
        scripts: [] as string[],
        ...data,
      });
      // Pages may show secrets (QR code, backup codes): never store them in any cache (OWASP ASVS 8.2.1).
      return this.code(statusCode).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(html);
    });
  },
  { name: 'crew-views', dependencies: ['@fastify/cookie'] },
);
