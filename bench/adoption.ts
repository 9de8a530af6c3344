// Adoption benchmark (issue 7, "Speed"): `crew migrate` on a Flask-era database of BENCH_ADOPTION_USERS users
// (default 1,000,000; 70 % with a 2FA row, every secret plain base32), against a raw baseline in the same run: the same
// rows encrypted by a bare loop over node:crypto (AES-256-GCM) and better-sqlite3, keyset batches of 5,000 rows, one
// transaction each. Both run as child processes (wall time; exact peak RSS from process.resourceUsage at exit). Reported as ratios; no test
// asserts a time. Run: `npm run bench:adoption` (BENCH_ADOPTION_USERS=100000 for a quick run); writes
// bench/adoption-results.md. BENCH_ADOPTION_FLASK_DB=path reuses a Flask database made earlier (it is copied, not changed).
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** Prints the process's peak resident set (KiB) on exit: exact, unlike sampling /proc from outside. */
const PEAK_RSS_HOOK = `data:text/javascript,process.on('exit',()=>process.stderr.write('MAXRSS '+process.resourceUsage().maxRSS+'\\n'))`;

interface Timed {
  seconds: number;
  peakMiB: number;
  stdout: string;
  /** When a stdout line matched `mark`: seconds since start and the peak RSS so far (VmHWM). */
  atMark: { seconds: number; peakMiB: number } | null;
}

/** Runs node ARGS as a child; wall time, exact peak RSS, and the time and peak so far when `mark` is printed. */
function timed(args: string[], env: Record<string, string>, mark?: RegExp): Promise<Timed> {
  return new Promise((resolveRun, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', PEAK_RSS_HOOK, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let atMark: Timed['atMark'] = null;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (mark && !atMark && mark.test(stdout)) {
        const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? NaN);
        atMark = { seconds: (performance.now() - started) / 1000, peakMiB: hwm / 1024 };
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      const m = /MAXRSS (\d+)/.exec(stderr);
      if (code !== 0 || !m) reject(new Error(`node ${args.join(' ')} failed (${code}): ${stderr}\n${stdout.slice(-2000)}`));
      else resolveRun({ seconds, peakMiB: Number(m[1]) / 1024, stdout, atMark });
    });
  });
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

  const baseline = await timed(['--input-type=module', '-e', BASELINE], { DB: rawDb, KEY });
  const crew = await timed([BIN, 'migrate'], { DATABASE_URL: crewDb, CREW_ENCRYPTION_KEY: KEY }, /✓ encrypted \d+ plain-text TOTP secret/);
  if (plaintextLeft(rawDb) !== 0 || plaintextLeft(crewDb) !== 0) throw new Error('plain-text secrets left after the run');
  const sweep = crew.atMark!;
  const rate = (seconds: number) => rows / seconds;
  const table = [
    `Adoption benchmark — ${new Date().toISOString()} — node ${process.version}; ${users} Flask users, ${rows} 2FA rows (all plain text)`,
    '',
    '| measure | crew | raw baseline (node:crypto + better-sqlite3 loop) | ratio |',
    '|---|---|---|---|',
    `| wall time, whole \`crew migrate\` (backup, sweep, every migration) | ${crew.seconds.toFixed(1)} s | ${baseline.seconds.toFixed(1)} s | **${(crew.seconds / baseline.seconds).toFixed(2)}×** |`,
    `| 2FA rows per second, whole \`crew migrate\` | ${Math.round(rate(crew.seconds))} | ${Math.round(rate(baseline.seconds))} | **${(rate(crew.seconds) / rate(baseline.seconds)).toFixed(2)}×** |`,
    `| 2FA rows per second, start to the end of the sweep (backup included) | ${Math.round(rate(sweep.seconds))} | ${Math.round(rate(baseline.seconds))} | **${(rate(sweep.seconds) / rate(baseline.seconds)).toFixed(2)}×** |`,
    `| peak RSS, whole \`crew migrate\` | ${crew.peakMiB.toFixed(0)} MiB | ${baseline.peakMiB.toFixed(0)} MiB | **${(crew.peakMiB / baseline.peakMiB).toFixed(2)}×** |`,
    `| peak RSS, start to the end of the sweep | ${sweep.peakMiB.toFixed(0)} MiB | ${baseline.peakMiB.toFixed(0)} MiB | **${(sweep.peakMiB / baseline.peakMiB).toFixed(2)}×** |`,
    '',
    `Goals: ≥ 50,000 rows/s (whole run: ${rate(crew.seconds) >= 50_000 ? 'met' : 'NOT met'}), peak RSS < 200 MiB (whole run: ${crew.peakMiB < 200 ? 'met' : 'NOT met'}; through the sweep: ${sweep.peakMiB < 200 ? 'met' : 'NOT met'}).`,
  ].join('\n');
  console.log(table);
  console.log('\ncrew migrate printed:\n' + crew.stdout.split('\n').slice(0, 60).join('\n'));
  writeFileSync(join(ROOT, 'bench', 'adoption-results.md'), `${table}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
