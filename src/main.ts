import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from './config.ts';
import { openDatabase } from './db/open-database.ts';
import { createDeps, loadKeyRing } from './deps.ts';
import { SecretBox } from './lib/secret-box.ts';
import { assertKeysCoverSecrets } from './modules/two-factor/encryption-keys.ts';
import { TwoFactorRepository } from './modules/two-factor/two-factor.repository.ts';
import { buildApp } from './http/build-app.ts';
import { createLogger } from './http/logger.ts';
import { startHeartbeat, type Heartbeat } from './migrate/heartbeat.ts';
import { formatSummary } from './migrate/migration-report.ts';
import { runnerFromConfig } from './migrate/runner-from-config.ts';
import { PASSWORD_THROTTLE_RETENTION_MS, prunePasswordThrottle } from './modules/users/password-throttle.ts';

/** Options of {@link serve}. */
export interface ServeOptions {
  /** Apply pending migrations before listening (default true; `crew serve --no-migrate` passes false). */
  migrate?: boolean;
  /** Configuration to use instead of loadConfig() (tests). */
  config?: Config;
  /** Where report lines and the URL go; default console.log. */
  print?: (line: string) => void;
  /** Install SIGTERM/SIGINT handlers that close gracefully (default true). */
  handleSignals?: boolean;
}

/** A running server. */
export interface RunningServer {
  app: FastifyInstance;
  url: string;
  /** Stops accepting connections, finishes in-flight requests, closes the database. */
  close(): Promise<void>;
}

/** Thrown when start-up migrations fail; the CLI exits 1 (the report was already printed). */
export class ServeMigrationError extends Error {
  override name = 'ServeMigrationError';
  readonly exitCode = 1;
}

/** How often expired sessions are deleted (ms). */
const SESSION_SWEEP_INTERVAL_MS = 10 * 60 * 1000;

/** How long graceful shutdown may take before the process exits anyway (ms). */
const SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * `crew serve`: loadConfig → openDatabase → apply pending migrations (printing the report and summary) → buildApp →
 * listen; prints the URL. Throws ConfigError / DatabaseOpenError / ServeMigrationError for the CLI to report.
 * @example const server = await serve({ migrate: true }); // … await server.close();
 */
export async function serve(options: ServeOptions = {}): Promise<RunningServer> {
  const print = options.print ?? ((line: string) => console.log(line));
  const config = options.config ?? loadConfig();
  const open = await openDatabase(config.database);
  let app: FastifyInstance | null = null;
  let heartbeat: Heartbeat | null = null;
  try {
    // Before migrations: a missing key file beside encrypted secrets stops start-up instead of being replaced by a new key.
    const ring = await loadKeyRing(config, open, { create: true });
    if (options.migrate ?? true) {
      const report = await runnerFromConfig(open, config, { onLine: print }).migrate();
      for (const line of formatSummary(report)) print(line);
      if (!report.ok) throw new ServeMigrationError('migrations failed; the server was not started');
    }
    // Every key id that stored secrets use must be configured, or those users' TOTP sign-ins would answer 500.
    // (`serve --no-migrate` on a database without the table has no secrets to check.)
    if ((await open.adapter.listTables(open.db)).includes('two_factor_auth')) {
      await assertKeysCoverSecrets(new TwoFactorRepository(open.db), new SecretBox(ring.keys), ring.source);
    }
    app = await buildApp(createDeps(config, open, { logger: createLogger(config), keys: ring.keys }));
    await app.listen({ port: config.port, host: config.host });
    // A row in crew_server_heartbeats while this server runs: `crew migrate NAME --rollback` refuses (without
    // --force) while fresh rows exist, instead of pulling tables from under live requests (issue 11).
    const log = app.log;
    heartbeat = await startHeartbeat(open.db, { onError: (error) => log.warn({ err: error }, 'server heartbeat failed') });
  } catch (error) {
    await heartbeat?.stop().catch(() => {});
    await app?.close().catch(() => {});
    await open.close().catch(() => {});
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host === '127.0.0.1' || host === '0.0.0.0' || host === '[::]' ? 'localhost' : host}:${port}`;
  // WebAuthn accepts no IP address as relying-party id: say which name passkeys are bound to, and where they work.
  print(`Passkeys work at ${config.origin} (relying party ${config.rpId}; set CREW_RP_ID and CREW_ORIGIN to change)`);
  print(`Production Crew is listening on ${url}`);

  const running = app;
  // Expired sessions are refused when presented; this also removes the rows nobody presents again.
  const sweep = setInterval(() => {
    running.services.sessions.deleteExpiredSessions().catch((error: unknown) => running.log.warn({ err: error }, 'expired-session sweep failed'));
    // Throttle rows of names nobody tried for 30 days (unknown usernames add rows too) and with no wait in force.
    const nowMs = running.deps.clock.now().getTime();
    prunePasswordThrottle(running.deps.db, nowMs - PASSWORD_THROTTLE_RETENTION_MS, nowMs).catch((error: unknown) => running.log.warn({ err: error }, 'password-throttle sweep failed'));
  }, SESSION_SWEEP_INTERVAL_MS);
  sweep.unref();
  let closing: Promise<void> | null = null;
  const close = () => (closing ??= (async () => {
    clearInterval(sweep);
    // Fastify stops accepting connections and waits for in-flight requests (return503OnClosing for keep-alive ones).
    await running.close();
    await heartbeat?.stop().catch((error: unknown) => running.log.warn({ err: error }, 'could not remove the server heartbeat'));
    await open.close();
  })());
  if (options.handleSignals ?? true) {
    const onSignal = (signal: NodeJS.Signals) => {
      running.log.info({ signal }, 'shutting down');
      const timer = setTimeout(() => {
        running.log.error('graceful shutdown timed out; exiting');
        process.exit(1);
      }, SHUTDOWN_TIMEOUT_MS);
      timer.unref();
      close().then(
        () => process.exit(0),
        (error: unknown) => {
          running.log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return { app: running, url, close };
}

// `node dist/main.js` (or `tsx src/main.ts`) serves directly.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  serve({ migrate: !process.argv.includes('--no-migrate') }).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
