import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { packageRoot } from '../../lib/package-root.ts';

/** Folder of the CSS, the favicon and the one small script, read from src/ both under tsx and from the bundled dist/ build. */
export const publicDir = (): string => join(packageRoot(), 'src', 'http', 'public');

const FILES: Record<string, string> = {
  'style.css': 'text/css; charset=utf-8',
  'copy.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
  'passkeys.js': 'text/javascript; charset=utf-8',
};

/**
 * @simplewebauthn/browser's own UMD bundle (the pinned npm package), served from our origin: no CDN, so the CSP's
 * `script-src 'self'` holds and nobody else's server can change the code that handles the passkey ceremony.
 */
export const webauthnBrowserBundle = (): string => join(packageRoot(), 'node_modules', '@simplewebauthn', 'browser', 'dist', 'bundle', 'index.umd.min.js');

/** Serves the fixed list of files under /static/ (no directory walking, so no path traversal). */
export async function staticRoutes(app: FastifyInstance): Promise<void> {
  for (const [name, type] of Object.entries(FILES)) {
    const body = readFileSync(join(publicDir(), name));
    app.get(`/static/${name}`, async (_request, reply) => reply.type(type).header('cache-control', 'public, max-age=3600').send(body));
  }
  const bundle = readFileSync(webauthnBrowserBundle());
  app.get('/static/simplewebauthn-browser.js', async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(bundle),
  );
  // Browsers ask for /favicon.ico wherever a page names no icon (an API answer opened in a tab): no 404 in the console.
  app.get('/favicon.ico', async (_request, reply) => reply.redirect('/static/favicon.svg', 301));
}
