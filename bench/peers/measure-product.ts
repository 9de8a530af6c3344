// The benchmark's flow for one product, the same for both: seed users with TOTP on, password sign-ins of random
// users under autocannon, then one pending sign-in per user and one TOTP step per pending sign-in (undici, 20 in
// flight), then the replay check; CPU and peak memory read from /proc around each phase.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPool, peerRequire, runLimited } from './http-client.ts';
import { cpuMilliseconds, resetPeakRss, statusMiB } from './proc-stats.ts';
import type { BenchUser, Product } from './products.ts';
import { sqlPerOperation, startServer, type SqlCounts } from './server-process.ts';

/** Sizes of one run. */
export interface RunOptions {
  users: number;
  signInSeconds: number;
  /** autocannon connections, and undici requests in flight. */
  concurrency: number;
  /** Node.js flags given to both servers alike (e.g. `--max-semi-space-size=4`); none by default. */
  nodeFlags: string[];
}

/** What one product measured. */
export interface ProductResult {
  name: string;
  seedSeconds: number;
  idleRssMiB: number;
  signIns: { perSecond: number; cpuMsEach: number; sql: SqlCounts; refused: number };
  twoFactor: { perSecond: number; p50Ms: number; p99Ms: number; cpuMsEach: number; sql: SqlCounts; refused: number };
  peakRssMiB: { wholeRun: number; twoFactorPhase: number | null };
  replay: { first: number; second: number };
}

interface AutocannonResult {
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}
interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, statusCode: number) => void): void;
}
type Autocannon = (options: object, done: (error: Error | null, result: AutocannonResult) => void) => AutocannonInstance;

/**
 * Password sign-ins under autocannon for a fixed time. The rate is taken between the first and the last answer:
 * with 20 requests in flight and a slow KDF, the time to the first answer and the answers cut off at the end would
 * otherwise count against the slower product (up to 20 lost answers in Better Auth's ~10 s).
 */
async function signInLoad(autocannon: Autocannon, options: object): Promise<AutocannonResult & { steadyPerSecond: number; ok: number }> {
  let first = 0;
  let last = 0;
  let ok = 0;
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    const instance = autocannon(options, (error, value) => (error ? reject(error) : resolve(value)));
    instance.on('response', (_client, statusCode) => {
      if (statusCode < 200 || statusCode > 299) return;
      last = performance.now();
      if (ok++ === 0) first = last;
    });
  });
  return { ...result, ok, steadyPerSecond: ok > 1 ? (ok - 1) / ((last - first) / 1000) : NaN };
}

/** A 6-digit SHA-1 TOTP code for `at`, computed by otpauth (neither product's own code). */
export function totpAt(secretBase32: string, at: Date): string {
  const { TOTP, Secret } = peerRequire('otpauth') as {
    TOTP: new (o: object) => { generate(o: { timestamp: number }): string };
    Secret: { fromBase32(s: string): unknown };
  };
  return new TOTP({ secret: Secret.fromBase32(secretBase32), digits: 6, period: 30, algorithm: 'SHA1' }).generate({ timestamp: at.getTime() });
}

/**
 * A code for the next time step (an authenticator clock a little ahead: both products accept ±1 step). It is
 * always later than the step used when TOTP was turned on, so crew's replay guard (RFC 6238 §5.2) does not refuse it.
 */
const nextStepCode = (user: BenchUser) => totpAt(user.secretBase32, new Date(Date.now() + 30_000));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Runs the whole flow against `product` and stops its server. */
export async function measureProduct(product: Product, options: RunOptions, log: (line: string) => void): Promise<ProductResult> {
  const dir = mkdtempSync(join(tmpdir(), 'crew-peers-'));
  const server = await startServer(product, dir, options.nodeFlags);
  const pool = openPool(server.origin, options.concurrency);
  try {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const idleRssMiB = statusMiB(server.pid, 'VmRSS');

    let t = performance.now();
    // One more user than measured: the last one shows the replay check at the end.
    const users = await runLimited(options.users + 1, options.concurrency, (i) => product.seed(pool, server.origin, i, totpAt));
    const seedSeconds = (performance.now() - t) / 1000;
    const measured = users.slice(0, options.users);
    log(`  ${product.name}: seeded ${users.length} users with TOTP on in ${seedSeconds.toFixed(1)} s`);

    // Password sign-ins of random users (each answered "now the second factor"), autocannon, fixed duration.
    const autocannon = peerRequire('autocannon') as Autocannon;
    let sql0 = await server.sqlCounts();
    let cpu0 = cpuMilliseconds(server.pid);
    const load = await signInLoad(autocannon, {
      url: server.origin,
      connections: options.concurrency,
      duration: options.signInSeconds,
      // A queued scrypt sign-in can wait longer than autocannon's default 10 s on a busy machine: not a failure.
      timeout: 120,
      requests: [{
        method: 'POST',
        headers: { 'content-type': 'application/json', ...product.headers(server.origin) },
        setupRequest: (request: object) => ({ ...request, ...product.signInRequest(measured[Math.floor(Math.random() * measured.length)]!) }),
      }],
    });
    const signInCpu = cpuMilliseconds(server.pid) - cpu0;
    const signInSql = sqlPerOperation(sql0, await server.sqlCounts(), load.ok);
    const signIns = { perSecond: load.steadyPerSecond, cpuMsEach: signInCpu / load.ok, sql: signInSql, refused: load.non2xx + load.errors + load.timeouts };
    log(`  ${product.name}: ${load.ok} password sign-ins in ${load.duration.toFixed(1)} s (${signIns.refused} not 2xx)`);

    // One fresh pending sign-in per user (not timed), then the measured second-factor steps.
    const pending = await runLimited(measured.length, options.concurrency, (i) => product.beginSignIn(pool, server.origin, measured[i]!));
    const codes = measured.map(nextStepCode);
    const beforePeak = statusMiB(server.pid, 'VmHWM');
    const peakReset = resetPeakRss(server.pid);
    sql0 = await server.sqlCounts();
    cpu0 = cpuMilliseconds(server.pid);
    t = performance.now();
    let refused = 0;
    const latencies = await runLimited(measured.length, options.concurrency, async (i) => {
      const start = performance.now();
      const status = await product.verify(pool, server.origin, pending[i]!, codes[i]!);
      if (status !== 200) refused++;
      return performance.now() - start;
    });
    const seconds = (performance.now() - t) / 1000;
    const twoFactorCpu = cpuMilliseconds(server.pid) - cpu0;
    const twoFactorSql = sqlPerOperation(sql0, await server.sqlCounts(), measured.length);
    const phasePeak = statusMiB(server.pid, 'VmHWM');
    latencies.sort((a, b) => a - b);
    const twoFactor = {
      perSecond: (measured.length - refused) / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      cpuMsEach: twoFactorCpu / measured.length,
      sql: twoFactorSql,
      refused,
    };
    log(`  ${product.name}: ${measured.length - refused} two-factor steps in ${seconds.toFixed(2)} s (${refused} refused)`);

    // The same TOTP code in two separate sign-ins of one user (RFC 6238 §5.2 says: accept it once).
    const last = users[options.users]!;
    const code = nextStepCode(last);
    const first = await product.verify(pool, server.origin, await product.beginSignIn(pool, server.origin, last), code);
    const second = await product.verify(pool, server.origin, await product.beginSignIn(pool, server.origin, last), code);

    return {
      name: product.name,
      seedSeconds,
      idleRssMiB,
      signIns,
      twoFactor,
      peakRssMiB: { wholeRun: Math.max(beforePeak, phasePeak), twoFactorPhase: peakReset ? phasePeak : null },
      replay: { first, second },
    };
  } finally {
    await pool.close().catch(() => {});
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
