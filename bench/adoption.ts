// Adoption benchmark (issue 7, "Speed"): `crew migrate` on a Flask-era database of BENCH_ADOPTION_USERS users
// (default 1,000,000; 70 % with a 2FA row, every secret plain base32), against a raw baseline in the same run: the same
// rows encrypted by a bare loop over node:crypto (AES-256-GCM) and better-sqlite3, keyset batches of 5,000 rows, one
// transaction each. Both run as child processes under /usr/bin/time (wall time, peak RSS). Reported as ratios; no test
// asserts a time. Run: `npm run bench:adoption` (BENCH_ADOPTION_USERS=100000 for a quick run); writes
// bench/adoption-results.md. BENCH_ADOPTION_FLASK_DB=path reuses a Flask database made earlier (it is copied, not changed).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { makeFlaskDatabase } from '../test/helpers/flask-database.ts';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'dist', 'cli', 'bin.js');
const USERS = Number(process.env.BENCH_ADOPTION_USERS ?? 1_000_000);
const KEY = Buffer.alloc(32, 11).toString('base64');

/** The raw baseline: what encrypting the rows costs with nothing but node:crypto and better-sqlite3. */
const BASELINE = `
import { createCipheriv, randomBytes } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
const key = Buffer.from(process.env.KEY, 'base64');
const db = new BetterSqlite3(process.env.DB);
db.pragma('journal_mode = WAL');
const read = db.prepare("SELECT id, secret FROM two_factor_auth WHERE id > ? AND secret NOT LIKE 'v1.%' ORDER BY id LIMIT 5000");
const write = db.prepare('UPDATE two_factor_auth SET secret = ? WHERE id = ? AND secret = ?');
const seal = (plain) => {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return 'v1.' + iv.toString('base64url') + '.' + ct.toString('base64url') + '.' + c.getAuthTag().toString('base64url');
};
let after = -1, n = 0;
for (;;) {
  const rows = read.all(after);
  if (rows.length === 0) break;
  db.transaction(() => { for (const r of rows) n += write.run(seal(r.secret), r.id, r.secret).changes; })();
  after = rows[rows.length - 1].id;
}
console.log('encrypted', n);
`;

/** Runs node ARGS under /usr/bin/time; returns wall seconds, peak RSS (MiB) and stdout. */
function timed(args: string[], env: Record<string, string>): { seconds: number; peakMiB: number; stdout: string } {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', process.execPath, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const m = /TIME ([\d.]+) (\d+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`node ${args.join(' ')} failed (${r.status}): ${r.stderr}\n${r.stdout.slice(-2000)}`);
  return { seconds: Number(m[1]), peakMiB: Number(m[2]) / 1024, stdout: r.stdout };
}

function plaintextLeft(path: string): number {
  const db = new BetterSqlite3(path, { readonly: true });
  const row = db.prepare("SELECT count(*) AS n FROM two_factor_auth WHERE secret NOT LIKE 'v1.%'").get() as { n: number };
  db.close();
  return row.n;
}

const dir = mkdtempSync(join(tmpdir(), 'crew-bench-adoption-'));
try {
  let source = process.env.BENCH_ADOPTION_FLASK_DB;
  let cleanup = async () => {};
  if (!source) {
    const started = performance.now();
    const flask = await makeFlaskDatabase('sqlite', { users: USERS, bulk: true, recordLimit: 100 });
    console.log(`made a Flask database of ${USERS} users in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    source = (flask.config as { path: string }).path;
    cleanup = () => flask.cleanup();
  }
  const check = new BetterSqlite3(source, { readonly: true });
  const { users } = check.prepare('SELECT count(*) AS users FROM "user"').get() as { users: number };
  const { rows } = check.prepare('SELECT count(*) AS rows FROM two_factor_auth').get() as { rows: number };
  check.close();
  const crewDb = join(dir, 'production_crew.db');
  const rawDb = join(dir, 'raw.db');
  copyFileSync(source, crewDb);
  copyFileSync(source, rawDb);
  await cleanup();

  const baseline = timed(['--input-type=module', '-e', BASELINE], { DB: rawDb, KEY });
  const crew = timed([BIN, 'migrate'], { DATABASE_URL: crewDb, CREW_ENCRYPTION_KEY: KEY });
  if (plaintextLeft(rawDb) !== 0 || plaintextLeft(crewDb) !== 0) throw new Error('plain-text secrets left after the run');
  const crewRate = rows / crew.seconds;
  const rawRate = rows / baseline.seconds;
  const table = [
    `Adoption benchmark — ${new Date().toISOString()} — node ${process.version}; ${users} Flask users, ${rows} 2FA rows (all plain text)`,
    '',
    '| measure | `crew migrate` (backup, 6 migrations, secret sweep) | raw baseline (node:crypto + better-sqlite3 loop) | ratio |',
    '|---|---|---|---|',
    `| wall time | ${crew.seconds.toFixed(1)} s | ${baseline.seconds.toFixed(1)} s | **${(crew.seconds / baseline.seconds).toFixed(2)}×** |`,
    `| 2FA rows per second | ${Math.round(crewRate)} | ${Math.round(rawRate)} | **${(crewRate / rawRate).toFixed(2)}×** |`,
    `| peak RSS | ${crew.peakMiB.toFixed(0)} MiB | ${baseline.peakMiB.toFixed(0)} MiB | **${(crew.peakMiB / baseline.peakMiB).toFixed(2)}×** |`,
    '',
    `Goals: ≥ 50,000 rows/s (${crewRate >= 50_000 ? 'met' : 'NOT met'}), peak RSS < 200 MiB (${crew.peakMiB < 200 ? 'met' : 'NOT met'}).`,
  ].join('\n');
  console.log(table);
  console.log('\ncrew migrate printed:\n' + crew.stdout.split('\n').slice(0, 60).join('\n'));
  writeFileSync(join(ROOT, 'bench', 'adoption-results.md'), `${table}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
