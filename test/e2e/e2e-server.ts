import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/open-database.ts';
import { createDeps } from '../../src/deps.ts';
import { buildApp } from '../../src/http/build-app.ts';
import type { Clock } from '../../src/lib/clock.ts';
import { MigrationRunner } from '../../src/migrate/migration-runner.ts';

/** Debian's Chromium; tests never download a browser. */
export const CHROMIUM = '/usr/bin/chromium';
/**
 * Where browser tests save their screenshots: docs/screenshots/ (the ones the README shows) when
 * CREW_UPDATE_SCREENSHOTS=1 (`npm run screenshots`), else a temp folder, so `npm test` leaves the tree clean.
 */
export const SHOTS = process.env.CREW_UPDATE_SCREENSHOTS === '1' ? resolve('docs/screenshots') : join(tmpdir(), 'crew-screenshots');

/** A migrated SQLite database, the app listening on a free port, and a headless Chromium. */
export interface E2eServer {
  app: FastifyInstance;
  /** `http://localhost:<port>`: a host name, not an IP, because WebAuthn refuses IP addresses as relying-party ids. */
  baseUrl: string;
  browser: Browser;
  close(): Promise<void>;
}

/** A TCP port that was free a moment ago on localhost (for a server whose origin must be known before it starts). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

/** Launches Debian's headless Chromium (never a downloaded browser). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install the Debian package "chromium"`);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

/** Starts the app on a fresh SQLite file (with extra environment variables and an optional clock) and launches Chromium. */
export async function startE2eServer(env: Record<string, string> = {}, clock?: Clock): Promise<E2eServer> {
  mkdirSync(SHOTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'crew-e2e-'));
  const config = loadConfig({ DATABASE_URL: join(dir, 'production_crew.db'), ...env }, dir);
  const open = await openDatabase(config.database);
  const report = await new MigrationRunner(open, { backup: false }).migrate();
  if (!report.ok) throw new Error(`migrations failed: ${report.lines.join('\n')}`);
  const app = await buildApp(createDeps(config, open, { logger: false, ...(clock ? { clock } : {}) }));
  // 'localhost' makes Fastify listen on every loopback address the name resolves to (127.0.0.1 and/or ::1), so the
  // browser reaches http://localhost:<port> whichever it tries first.
  // PORT, when given, is where the test needs the app (CREW_ORIGIN defaults from it, and WebAuthn checks the origin).
  await app.listen({ port: env.PORT ? config.port : 0, host: 'localhost' });
  const address = app.server.address();
  const baseUrl = `http://localhost:${typeof address === 'object' && address ? address.port : 0}`;
  const browser = await launchChromium();
  return {
    app,
    baseUrl,
    browser,
    close: async () => {
      await browser.close();
      await app.close();
      await open.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
