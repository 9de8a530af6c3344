// Benchmarks, reported as ratios to a baseline measured in the same run (machines here are shared
// and noisy, so absolute times mean little). Run with `npm run bench`; results go to bench/results.md.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { openDatabase } from '../src/db/open-database.ts';
import { MigrationRunner } from '../src/migrate/migration-runner.ts';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'dist', 'cli', 'bin.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);

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
  // 1. CLI start-up: `crew migrate --list` on a migrated database vs `node -e 0`.
  const dbPath = join(dir, 'production_crew.db');
  spawnSync(process.execPath, [BIN, 'migrate'], { env: { ...process.env, DATABASE_URL: dbPath } });
  const baseline = median(timeCommand(['-e', '0'], {}));
  const list = median(timeCommand([BIN, 'migrate', '--list'], { DATABASE_URL: dbPath }));
  rows.push(`| \`crew migrate --list\` start-up | \`node -e 0\` | ${list.toFixed(0)} ms | ${baseline.toFixed(0)} ms | **${(list / baseline).toFixed(2)}×** |`);

  // 2. Migrating a fresh SQLite database with the runner (lock, transactions, bookkeeping, checks)
  //    vs executing the same DDL directly in one better-sqlite3 transaction.
  const runnerTimes: number[] = [];
  const rawTimes: number[] = [];
  let ddl: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    const path = join(dir, `fresh-${i}.db`);
    const open = await openDatabase({ kind: 'sqlite', path });
    if (i === 0) {
      const dry = await new MigrationRunner(open, { backup: false }).migrate({ dryRun: true });
      ddl = dry.results.flatMap((r) => r.sql ?? []).filter((s) => !/pragma_table_info/.test(s)).map((s) => s.replace(/; -- parameters:.*$/, ''));
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
  rows.push(`| migrate a fresh SQLite database (5 migrations) | same DDL, raw, one transaction | ${r.toFixed(1)} ms | ${b.toFixed(1)} ms | **${(r / b).toFixed(1)}×** |`);
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
writeFileSync(join(ROOT, 'bench', 'results.md'), `${table}\n`);
