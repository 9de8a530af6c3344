// `crew serve` keeps V8's young generation from growing (serve.ts, boundYoungGeneration). Checked in child processes,
// because a V8 flag set here would change the test runner's own heap; what is asserted is memory layout, not time.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { boundYoungGeneration, YOUNG_GENERATION_LIMIT_BYTES } from './serve.ts';

const SERVE = join(import.meta.dirname, 'serve.ts');

/** The young generation's size (MiB) after allocating ~30 MiB of short-lived objects, a few of which survive, in a child. */
function youngGenerationAfterLoad(callBound: boolean, nodeOptions = ''): number {
  const script = `
    import v8 from 'node:v8';
    import { boundYoungGeneration } from ${JSON.stringify(SERVE)};
    if (${callBound}) boundYoungGeneration();
    const kept = [];
    // In chunks, with a turn of the event loop between them (as a server has), so garbage-collection observers run.
    for (let chunk = 0; chunk < 40; chunk++) {
      for (let i = 0; i < 25e3; i++) { const o = { i, s: 'x' + i }; if (i % 500 === 0) kept.push(o); }
      await new Promise((resolve) => setImmediate(resolve));
    }
    const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    console.log(space.space_size / 2 ** 20);`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: nodeOptions },
  });
  return Number(out.trim());
}

describe('boundYoungGeneration (crew serve)', () => {
  it('stops the young generation at its limit where it would otherwise double to 2 × 16 MiB', () => {
    const unbounded = youngGenerationAfterLoad(false);
    const bounded = youngGenerationAfterLoad(true);
    expect(unbounded).toBeGreaterThanOrEqual(16);
    expect(bounded).toBeLessThanOrEqual(YOUNG_GENERATION_LIMIT_BYTES / 2 ** 20);
  });

  it("leaves an operator's own semi-space flag alone", () => {
    expect(boundYoungGeneration(['--max-semi-space-size=8'], '')).toBe(false);
    expect(boundYoungGeneration([], '--max_semi_space_size=8 --enable-source-maps')).toBe(false);
    expect(youngGenerationAfterLoad(true, '--max-semi-space-size=16')).toBeGreaterThanOrEqual(16);
  });
});
