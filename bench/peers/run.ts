// `npm run bench:peers`: crew and Better Auth measured side by side, one after the other on this machine, with the
// same client and flow (issue 9). Installs bench/peers/better-auth from its own lock file when needed (never part
// of `npm ci` or `npm test`), prints the table as ratios crew ÷ Better Auth and writes bench/peers/results.md.
// Sizes: BENCH_PEERS_USERS (default 500), BENCH_PEERS_SIGN_IN_SECONDS (default 10), BENCH_PEERS_CONCURRENCY (20);
// BENCH_PEERS_NODE_FLAGS: Node.js flags for both servers alike (e.g. "--max-semi-space-size=4"), none by default.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARGON2_OPTIONS } from '../../src/lib/password-hash.ts';
import { PEER_DIR } from './http-client.ts';
import { measureProduct, type RunOptions } from './measure-product.ts';
import { betterAuth, crew } from './products.ts';
import { comparisonTable, problems, type KdfBaseline } from './report.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const positive = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
};
const options: RunOptions = {
  users: positive('BENCH_PEERS_USERS', 500),
  signInSeconds: positive('BENCH_PEERS_SIGN_IN_SECONDS', 10),
  concurrency: positive('BENCH_PEERS_CONCURRENCY', 20),
  nodeFlags: (process.env.BENCH_PEERS_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean),
};
const log = (line: string) => console.log(line);

/** `npm ci` in bench/peers/better-auth unless its node_modules already match its lock file. */
function ensurePeerInstalled(): void {
  const lock = readFileSync(join(PEER_DIR, 'package-lock.json'));
  const digest = createHash('sha256').update(lock).digest('hex');
  const stamp = join(PEER_DIR, 'node_modules', '.crew-bench-lock-sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return;
  log('Installing bench/peers/better-auth from its lock file (npm ci; once)…');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--prefix', PEER_DIR], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('npm ci in bench/peers/better-auth failed');
  writeFileSync(stamp, digest);
}

/** Raw KDF verifications per second in a separate process (kdf-baseline.mjs). */
function kdfBaseline(kind: 'argon2id' | 'scrypt'): KdfBaseline {
  const args = [join(import.meta.dirname, 'kdf-baseline.mjs'), kind, String(Math.min(options.signInSeconds, 5)), String(options.concurrency)];
  if (kind === 'argon2id') args.push(JSON.stringify(ARGON2_OPTIONS));
  const out = execFileSync(process.execPath, args, { encoding: 'utf8' });
  return JSON.parse(out) as KdfBaseline;
}

function machine(): string {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const ba = JSON.parse(readFileSync(join(PEER_DIR, 'node_modules', 'better-auth', 'package.json'), 'utf8')) as { version: string };
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() || 'unknown';
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  return `${cpus().length} × ${model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; load average at the end ${load}; ` +
    `Node.js ${process.version}; crew ${commit}; better-auth ${ba.version}`;
}

ensurePeerInstalled();
if (!existsSync(join(ROOT, 'dist', 'cli', 'bin.js'))) throw new Error('dist/cli/bin.js is missing: run `npm run build` first');
const started = performance.now();
const flagsText = options.nodeFlags.length > 0 ? `; both servers run with ${options.nodeFlags.join(' ')}` : '';
log(`Side by side: ${options.users} users, ${options.signInSeconds} s of password sign-ins, ${options.concurrency} connections / in flight${flagsText}`);
const argon2id = kdfBaseline('argon2id');
log(`  raw argon2id (crew's parameters): ${argon2id.perSecond.toFixed(1)} verifications/s`);
const crewResult = await measureProduct(crew, options, log);
const scrypt = kdfBaseline('scrypt');
log(`  raw scrypt (Better Auth's parameters): ${scrypt.perSecond.toFixed(1)} verifications/s`);
const baResult = await measureProduct(betterAuth, options, log);
const kdf = { crew: argon2id, betterAuth: scrypt };
const minutes = (performance.now() - started) / 60_000;

const lines = [
  `Side by side with Better Auth — ${new Date().toISOString()} — ${options.users} users, ${options.signInSeconds} s of sign-ins, ` +
    `${options.concurrency} in flight${flagsText}; run took ${minutes.toFixed(1)} min`,
  '',
  machine(),
  '',
  ...comparisonTable(crewResult, baResult, kdf),
  '',
  `Seeding (not measured): crew ${crewResult.seedSeconds.toFixed(0)} s, Better Auth ${baResult.seedSeconds.toFixed(0)} s. Source: bench/peers/.`,
  ...problems([crewResult, baResult]).map((p) => `\n**Not a clean run:** ${p}`),
];
console.log(`\n${lines.join('\n')}`);
writeFileSync(join(import.meta.dirname, 'results.md'), `${lines.join('\n')}\n`);
