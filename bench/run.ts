// Benchmarks, reported as ratios to a baseline measured in the same run (machines here are shared
// and noisy, so absolute times mean little). Run with `npm run bench`; results go to bench/results.md.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { openDatabase } from '../src/db/open-database.ts';
import { MigrationRunner } from '../src/migrate/migration-runner.ts';
import { hashSecret, verifySecret } from '../src/lib/password-hash.ts';
import { systemRandom } from '../src/lib/random.ts';
import { findBackupCode, generateBackupCodes, hashBackupCodes } from '../src/modules/two-factor/backup-codes.ts';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'dist', 'cli', 'bin.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
/** BENCH_ONLY=http (or a comma list of start-up, migrate, backup-code, memory, http) runs only those rows. */
const SECTIONS = ['start-up', 'migrate', 'backup-code', 'memory', 'http'] as const;
const ONLY = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',').map((s) => s.trim()) : null;
for (const name of ONLY ?? []) if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`BENCH_ONLY: unknown section ${name} (${SECTIONS.join(', ')})`);
const wanted = (section: (typeof SECTIONS)[number]) => ONLY === null || ONLY.includes(section);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeCommand(args: string[], env: Record<string, string>): number[] {
  const times: number[] = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const start = performance.now();
    const r = spawnSync(process.execPath, args, { env: { ...process.env, ...env, NO_COLOR: '1' }, encoding: 'utf8' });
    const ms = performance.now() - start;
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
    if (i >= 2) times.push(ms); // two warm-up runs fill the page cache
  }
  return times;
}

const dir = mkdtempSync(join(tmpdir(), 'crew-bench-'));
const rows: string[] = [];
try {
  // A migrated database, for the start-up, memory and HTTP rows.
  const dbPath = join(dir, 'production_crew.db');
  spawnSync(process.execPath, [BIN, 'migrate'], { env: { ...process.env, DATABASE_URL: dbPath } });

  // 1. CLI start-up: `crew migrate --list` on a migrated database vs `node -e 0`.
  if (wanted('start-up')) {
    const baseline = median(timeCommand(['-e', '0'], {}));
    const list = median(timeCommand([BIN, 'migrate', '--list'], { DATABASE_URL: dbPath }));
    rows.push(`| \`crew migrate --list\` start-up | \`node -e 0\` | ${list.toFixed(0)} ms | ${baseline.toFixed(0)} ms | **${(list / baseline).toFixed(2)}×** |`);
  }

  // 2. Migrating a fresh SQLite database with the runner (lock, transactions, bookkeeping, checks)
  //    vs executing the same DDL directly in one better-sqlite3 transaction.
  if (wanted('migrate')) {
    const runnerTimes: number[] = [];
    const rawTimes: number[] = [];
    let ddl: string[] = [];
    let migrationCount = 0;
    for (let i = 0; i < RUNS; i++) {
      const path = join(dir, `fresh-${i}.db`);
      const open = await openDatabase({ kind: 'sqlite', path });
      if (i === 0) {
        const dry = await new MigrationRunner(open, { backup: false }).migrate({ dryRun: true });
        migrationCount = dry.results.length;
        // The baseline replays the schema statements only: the dry run's parameters are redacted, and its data
        // statements (introspection, the Flask adoption's checks) have nothing to act on in a fresh database.
        ddl = dry.results.flatMap((r) => r.sql ?? []).filter((s) => /^\s*(create|alter|drop)\b/i.test(s)).map((s) => s.replace(/; -- parameters:.*$/, ''));
      }
      const start = performance.now();
      const report = await new MigrationRunner(open, { backup: false }).migrate();
      runnerTimes.push(performance.now() - start);
      if (!report.ok) throw new Error(report.lines.join('\n'));
      await open.close();
      const rawPath = join(dir, `raw-${i}.db`);
      const raw = new BetterSqlite3(rawPath);
      raw.pragma('journal_mode = WAL');
      const t0 = performance.now();
      raw.transaction(() => ddl.forEach((s) => raw.exec(s)))();
      rawTimes.push(performance.now() - t0);
      raw.close();
    }
    const r = median(runnerTimes);
    const b = median(rawTimes);
    rows.push(`| migrate a fresh SQLite database (${migrationCount} migrations) | same DDL, raw, one transaction | ${r.toFixed(1)} ms | ${b.toFixed(1)} ms | **${(r / b).toFixed(1)}×** |`);
  }

  // 3. Second-factor cost: checking a backup code (argon2id against all 10 stored hashes, in parallel on
  //    libuv's pool) vs one password verification (a single argon2id), the floor of any sign-in.
  if (wanted('backup-code')) {
    const codes = generateBackupCodes(systemRandom, 10);
    const hashes = await hashBackupCodes(codes);
    const pw = await hashSecret('correct horse battery staple');
    const backupTimes: number[] = [];
    const passwordTimes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      let t = performance.now();
      await verifySecret(pw, 'correct horse battery staple');
      passwordTimes.push(performance.now() - t);
      t = performance.now();
      if ((await findBackupCode(hashes, codes[9]!)) !== 9) throw new Error('backup code not found');
      backupTimes.push(performance.now() - t);
    }
    const bc = median(backupTimes);
    const pv = median(passwordTimes);
    rows.push(`| check a backup code (10 argon2id hashes) | one password verification | ${bc.toFixed(0)} ms | ${pv.toFixed(0)} ms | **${(bc / pv).toFixed(1)}×** |`);
  }

  // 4. Memory: resident set of an idle \`crew serve\` vs an idle bare Node.js process.
  if (wanted('memory')) {
    const rss = async (args: string[], env: Record<string, string>, ready: RegExp) => {
      const child = spawn(process.execPath, args, { env: { ...process.env, ...env, LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      await new Promise<void>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`not ready: ${out}`)), 20_000);
        child.stdout!.on('data', (d) => {
          out += d;
          if (ready.test(out)) { clearTimeout(timer); res(); }
        });
      });
      await new Promise((r) => setTimeout(r, 1000));
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]);
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
      return kb / 1024;
    };
    const serveMb = await rss([BIN, 'serve'], { DATABASE_URL: dbPath, PORT: '0' }, /listening on/);
    const bareMb = await rss(['-e', "console.log('ready'); setInterval(() => {}, 1000)"], {}, /ready/);
    rows.push(`| resident memory, idle \`crew serve\` | idle \`node\` process | ${serveMb.toFixed(0)} MiB | ${bareMb.toFixed(0)} MiB | **${(serveMb / bareMb).toFixed(1)}×** |`);
  }

  // 5. HTTP: requests/second for an authenticated GET /api/me (session lookup in SQLite, security
  //    headers, response schema) vs a bare Fastify route answering {} — same machine, same wrk load.
  if (wanted('http')) {
    if (spawnSync('wrk', ['--version']).error) {
      rows.push('| `GET /api/me` throughput | bare Fastify | (skipped: wrk not installed — Debian package wrk) | | |');
    } else {
      const port = 39000 + Math.floor(Math.random() * 500);
      const server = spawn(process.execPath, [BIN, 'serve'], { env: { ...process.env, DATABASE_URL: dbPath, PORT: String(port), LOG_LEVEL: 'silent', CREW_AUTH_RATE_LIMIT: '100000/minute' }, stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((res) => server.stdout!.on('data', (d) => String(d).includes('listening on') && res()));
      const reg = await fetch(`http://127.0.0.1:${port}/api/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'benchuser', password: 'correct horse battery staple' }) });
      const cookie = (reg.headers.get('set-cookie') ?? '').split(';')[0]!;
      // Server CPU per request from /proc (utime + stime, 10 ms ticks): steadier than req/s on a shared, busy machine.
      const cpuMs = (pid: number) => {
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return (Number(fields[11]) + Number(fields[12])) * 10;
      };
      const wrk = (url: string, pid: number, headers: string[] = []) => {
        const args = ['-t1', '-c16', ...headers.flatMap((h) => ['-H', h]), url];
        spawnSync('wrk', ['-d3s', ...args]); // warm-up: JIT and lazily loaded code are not what we measure
        const before = cpuMs(pid);
        const out = spawnSync('wrk', ['-d5s', ...args], { encoding: 'utf8' }).stdout;
        const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
        return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN), cpuUs: ((cpuMs(pid) - before) * 1000) / requests };
      };
      const appRun = wrk(`http://127.0.0.1:${port}/api/me`, server.pid!, [`Cookie: ${cookie}`]);
      server.kill('SIGTERM');
      const barePort = port + 1;
      const bare = spawn(process.execPath, ['--input-type=module', '-e', `import Fastify from 'fastify'; const app = Fastify(); app.get('/', async () => ({})); await app.listen({ port: ${barePort} }); console.log('ready');`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((res) => bare.stdout!.on('data', (d) => String(d).includes('ready') && res()));
      const bareRun = wrk(`http://127.0.0.1:${barePort}/`, bare.pid!);
      bare.kill('SIGTERM');
      rows.push(`| \`GET /api/me\` throughput (signed in, SQLite) | bare Fastify route | ${appRun.rps.toFixed(0)} req/s | ${bareRun.rps.toFixed(0)} req/s | **${(appRun.rps / bareRun.rps).toFixed(2)}×** |`);
      rows.push(`| \`GET /api/me\` requests per server CPU second | bare Fastify route | ${appRun.cpuUs.toFixed(0)} µs/req | ${bareRun.cpuUs.toFixed(0)} µs/req | **${(bareRun.cpuUs / appRun.cpuUs).toFixed(2)}×** |`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const table = [
  `Benchmarks — ${new Date().toISOString()} — node ${process.version}, ${RUNS} runs each, medians`,
  '',
  '| measure | baseline | measured | baseline time | ratio |',
  '|---|---|---|---|---|',
  ...rows,
].join('\n');
console.log(table);
// A BENCH_ONLY run prints its rows but leaves the full table in results.md as it was.
if (ONLY === null) writeFileSync(join(ROOT, 'bench', 'results.md'), `${table}\n`);
