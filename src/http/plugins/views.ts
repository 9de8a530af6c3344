import { join } from 'node:path';
import { Eta } from 'eta';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { packageRoot } from '../../lib/package-root.ts';
import { csrfTokenFor } from './csrf.ts';

/** Folder of the .eta templates, read from src/ both under tsx and from the bundled dist/ build. */
export const viewsDir = (): string => join(packageRoot(), 'src', 'http', 'views');

/**
 * The document title of a page: "Error: " before the title of any answer of 400 or more (a form shown again with its
 * error, a refusal) or of a page that says it `showsError` (a lockout shown on GET), so screen-reader users hear at
 * once that something went wrong (WCAG 2.4.2, 3.3.1); a 404 is titled just "Page not found".
 * @example pageTitle('Create an account', 400) // 'Error: Create an account'
 */
export function pageTitle(title: string, statusCode: number, showsError = false): string {
  return (statusCode >= 400 && statusCode !== 404) || showsError ? `Error: ${title}` : title;
}

/**
 * Adds `reply.page(template, data, status)`: renders an Eta template with autoEscape on (every `<%= %>` is
 * HTML-escaped; OWASP ASVS 5.3.3) inside the layout, with the signed-in user (or a pending sign-in) and the form's CSRF token.
 */
export const views = fp(
  async (app: FastifyInstance) => {
    const eta = new Eta({ views: viewsDir(), autoEscape: true, cache: true });
    app.decorateReply('page', async function page(this: FastifyReply, template: string, data: Record<string, unknown> = {}, statusCode = 200) {
      const request = this.request;
      const state = request.auth?.session.state;
      const html = await eta.renderAsync(template, {
        user: state === 'authenticated' ? request.auth!.user : null,
        // Between the password and the code: the header offers "Cancel sign-in", not "Sign in / Create account".
        pendingSignIn: state === 'pending_two_factor',
        csrfToken: csrfTokenFor(request, this),
        sessionCsrfToken: request.auth?.session.csrfToken ?? '',
        scripts: [] as string[],
        ...data,
        title: pageTitle(typeof data.title === 'string' ? data.title : 'Production Crew', statusCode, data.showsError === true),
      });
      // Pages may show secrets (QR code, backup codes): never store them in any cache (OWASP ASVS 8.2.1).
      return this.code(statusCode).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(html);
    });
  },
  { name: 'crew-views', dependencies: ['@fastify/cookie'] },
);
