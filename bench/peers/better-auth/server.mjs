// Better Auth as a TypeScript team would set it up from its documentation, for crew's side-by-side benchmark
// (bench/peers/run.ts): email + password sign-in with the two-factor plugin, on a better-sqlite3 database
// (docs: "Adapters › SQLite", "Plugins › Two-Factor Authentication"), the schema made by Better Auth's own
// migration planner (docs: "Database › Programmatic migrations"), served by its Node handler (docs:
// "Integrations › Node"). Like crew in the same run: WAL mode, per-IP rate limits off.
// Usage: node server.mjs DATABASE_PATH PORT — prints "listening on http://127.0.0.1:PORT" when ready.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Database from 'better-sqlite3';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { toNodeHandler } from 'better-auth/node';
import { twoFactor } from 'better-auth/plugins';

const [databasePath, portText] = process.argv.slice(2);
if (!databasePath || !/^\d+$/.test(portText ?? '')) {
  console.error('usage: node server.mjs DATABASE_PATH PORT');
  process.exit(2);
}
const baseURL = `http://127.0.0.1:${portText}`;
const database = new Database(databasePath);
// crew's SQLite connection runs in WAL mode too; without it every write would also rewrite a rollback journal.
database.pragma('journal_mode = WAL');

const auth = betterAuth({
  appName: 'Production Crew (Better Auth)',
  baseURL,
  secret: randomBytes(32).toString('base64'),
  database,
  emailAndPassword: { enabled: true },
  plugins: [twoFactor()],
  // The benchmark sends everything from one address; crew's per-IP limit is raised out of the way likewise.
  rateLimit: { enabled: false },
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const server = createServer(toNodeHandler(auth));
server.keepAliveTimeout = 65_000;
server.listen(Number(portText), '127.0.0.1', () => console.log(`listening on ${baseURL}`));
const stop = () => server.close(() => {
  database.close();
  process.exit(0);
});
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
