// The side-by-side table of issue 9: each measure for crew and Better Auth, the ratio crew ÷ Better Auth, and the
// goal with whether this run met it.
import type { ProductResult } from './measure-product.ts';
import type { SqlCounts } from './server-process.ts';

/** Raw KDF verifications per second with each product's own parameters (kdf-baseline.mjs). */
export interface KdfBaselines {
  crew: KdfBaseline;
  betterAuth: KdfBaseline;
}

/** One KDF's raw speed: verifications per second, and CPU milliseconds each. */
export interface KdfBaseline {
  perSecond: number;
  cpuMsEach: number;
}

const f = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const ratio = (a: number, b: number) => (Number.isFinite(a / b) && b !== 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
const mark = (ok: boolean) => (ok ? '✓' : '✗');

function sqlText(sql: SqlCounts): string {
  const parts = (['select', 'insert', 'update', 'delete', 'transaction', 'other'] as const)
    .filter((k) => sql[k] > 0.005)
    .map((k) => `${f(sql[k], Number.isInteger(sql[k]) ? 0 : 1)} ${k === 'transaction' ? 'BEGIN/COMMIT' : k.toUpperCase()}`);
  return `${f(sql.total, Number.isInteger(sql.total) ? 0 : 1)} (${parts.join(', ') || 'none'})`;
}

const replayText = (r: ProductResult['replay']) => `first ${r.first}, second ${r.second}: ${r.second === 200 ? '**accepted twice**' : 'refused the second time'}`;

/** Markdown rows of the comparison (header included). */
export function comparisonTable(crew: ProductResult, ba: ProductResult, kdf: KdfBaselines): string[] {
  const c2 = crew.twoFactor;
  const b2 = ba.twoFactor;
  const crewKdfShare = crew.signIns.perSecond / kdf.crew.perSecond;
  const baKdfShare = ba.signIns.perSecond / kdf.betterAuth.perSecond;
  const peakRatio = crew.peakRssMiB.wholeRun / ba.peakRssMiB.wholeRun;
  const rows: string[][] = [
    ['2FA steps completed per second', f(c2.perSecond), f(b2.perSecond), ratio(c2.perSecond, b2.perSecond), `≥ 5× ${mark(c2.perSecond / b2.perSecond >= 5)}`],
    ['p99 of the 2FA step (ms)', f(c2.p99Ms, 1), f(b2.p99Ms, 1), ratio(c2.p99Ms, b2.p99Ms), `≤ 0.1× and < 20 ms ${mark(c2.p99Ms / b2.p99Ms <= 0.1 && c2.p99Ms < 20)}`],
    ['p50 of the 2FA step (ms)', f(c2.p50Ms, 1), f(b2.p50Ms, 1), ratio(c2.p50Ms, b2.p50Ms), ''],
    ['server CPU per 2FA step (ms)', f(c2.cpuMsEach, 2), f(b2.cpuMsEach, 2), ratio(c2.cpuMsEach, b2.cpuMsEach), `≤ 0.15× ${mark(c2.cpuMsEach / b2.cpuMsEach <= 0.15)}`],
    ['SQL statements per 2FA step', sqlText(c2.sql), sqlText(b2.sql), ratio(c2.sql.total, b2.sql.total), ''],
    ['server peak RSS under this load (MiB)', f(crew.peakRssMiB.wholeRun), f(ba.peakRssMiB.wholeRun), ratio(crew.peakRssMiB.wholeRun, ba.peakRssMiB.wholeRun), `≤ 0.5× ${mark(peakRatio <= 0.5)}`],
    ['… peak RSS during the 2FA steps only (MiB)', f(crew.peakRssMiB.twoFactorPhase ?? NaN), f(ba.peakRssMiB.twoFactorPhase ?? NaN), ratio(crew.peakRssMiB.twoFactorPhase ?? NaN, ba.peakRssMiB.twoFactorPhase ?? NaN), ''],
    ['server RSS idle after start (MiB)', f(crew.idleRssMiB), f(ba.idleRssMiB), ratio(crew.idleRssMiB, ba.idleRssMiB), ''],
    ['password sign-ins per second', f(crew.signIns.perSecond, 1), f(ba.signIns.perSecond, 1), '(different KDFs)', ''],
    ['raw KDF verifications per second (own parameters, same cores)', `${f(kdf.crew.perSecond, 1)} (argon2id)`, `${f(kdf.betterAuth.perSecond, 1)} (scrypt)`, '', ''],
    ['sign-ins ÷ raw KDF verifications', ratio(crew.signIns.perSecond, kdf.crew.perSecond), ratio(ba.signIns.perSecond, kdf.betterAuth.perSecond), '', `crew ≥ 0.9× ${mark(crewKdfShare >= 0.9)}`],
    ['server CPU per password sign-in (ms)', f(crew.signIns.cpuMsEach, 1), f(ba.signIns.cpuMsEach, 1), '(different KDFs)', ''],
    ['… raw KDF CPU per verification (ms)', f(kdf.crew.cpuMsEach, 1), f(kdf.betterAuth.cpuMsEach, 1), '', ''],
    ['SQL statements per password sign-in', sqlText(crew.signIns.sql), sqlText(ba.signIns.sql), ratio(crew.signIns.sql.total, ba.signIns.sql.total), ''],
    ['same TOTP code in two sign-ins (replay)', replayText(crew.replay), replayText(ba.replay), '', `refuse the second ${mark(crew.replay.first === 200 && crew.replay.second !== 200)}`],
  ];
  return [
    '| measure | crew | Better Auth | crew ÷ BA | goal |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

/** Requests that were not answered 2xx (or refused steps) — a run with any is not a clean measurement. */
export function problems(results: ProductResult[]): string[] {
  return results.flatMap((r) => [
    ...(r.signIns.refused > 0 ? [`${r.name}: ${r.signIns.refused} password sign-ins were not answered 2xx`] : []),
    ...(r.twoFactor.refused > 0 ? [`${r.name}: ${r.twoFactor.refused} two-factor steps were refused`] : []),
  ]);
}
