// `npm test`: type-check, then run the whole vitest suite on SQLite and, when reachable, PostgreSQL.
// CI sets CREW_REQUIRE_PG=1 so that the PostgreSQL half can never be skipped there.
import { spawnSync } from 'node:child_process';
import pg from 'pg';

const url = process.env.CREW_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
let pgReason = null;
const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
try {
  await client.connect();
  await client.query('SELECT 1');
} catch (error) {
  pgReason = `${error.message || error.code} (${url.replace(/:[^:@/]*@/, ':***@')})`;
} finally {
  await client.end().catch(() => {});
}
const env = { ...process.env };
if (pgReason) {
  if (process.env.CREW_REQUIRE_PG === '1') {
    console.error(`PostgreSQL is required (CREW_REQUIRE_PG=1) but unreachable: ${pgReason}`);
    process.exit(1);
  }
  console.warn(`\n*** PostgreSQL suite SKIPPED: cannot reach PostgreSQL: ${pgReason}.\n*** Only the SQLite half of the database tests runs. Set CREW_TEST_PG_URL or start PostgreSQL to run both.\n`);
  delete env.CREW_TEST_PG_URL;
} else {
  env.CREW_TEST_PG_URL = url;
  console.log(`PostgreSQL tests enabled (${url.replace(/:[^:@/]*@/, ':***@')})`);
}
const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', env }).status ?? 1;
const build = run('node', ['scripts/build.mjs']);
if (build !== 0) process.exit(build);
env.CREW_DIST_BUILT = '1'; // vitest's global set-up need not build dist/ again
const tsc = run('npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']);
if (tsc !== 0) process.exit(tsc);
const status = run('npx', ['vitest', 'run', ...process.argv.slice(2)]);
if (pgReason) console.warn(`\n*** Reminder: the PostgreSQL suite was SKIPPED (${pgReason}); only SQLite was tested.\n`);
process.exit(status);
