import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import type { CliCommand } from '../cli-command.ts';

/** The young generation `crew serve` lets V8 grow to: 2 semi-spaces of 4 MiB (V8's own maximum is 2 × 16 MiB). 4 MiB (2 × 2) saved ~10 MiB more at ~15 % more CPU per signed-in request (docs/PERFORMANCE.md). */
export const YOUNG_GENERATION_LIMIT_BYTES = 8 * 1024 * 1024;

/**
 * Stops V8's young generation from growing past {@link YOUNG_GENERATION_LIMIT_BYTES}, instead of doubling up to
 * 2 × 16 MiB: that growth was ~15 MiB of an idle server's resident memory and of its peak under load
 * (docs/PERFORMANCE.md, "Where memory goes"). `--max-semi-space-size` is read only when the process starts, so it cannot
 * be set here; the growth factor is read at each growth, so after each garbage collection this checks the size and,
 * once the limit is reached, sets the factor to 1. An operator who sets any semi-space flag (NODE_OPTIONS or the
 * command line) keeps theirs. Returns whether it took charge.
 */
export function boundYoungGeneration(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  if ([...execArgv, nodeOptions].some((flag) => /semi[-_]space/.test(flag))) return false;
  const youngGeneration = () => getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
  const stopGrowing = () => setFlagsFromString('--semi-space-growth-factor=1');
  if (youngGeneration() >= YOUNG_GENERATION_LIMIT_BYTES) {
    stopGrowing();
    return true;
  }
  const observer = new PerformanceObserver(() => {
    if (youngGeneration() < YOUNG_GENERATION_LIMIT_BYTES) return;
    stopGrowing();
    observer.disconnect();
  });
  observer.observe({ entryTypes: ['gc'] });
  return true;
}

/** `crew serve [--no-migrate]`: applies pending migrations (printing the report), then listens. */
export const serveCommand: CliCommand = {
  name: 'serve',
  description: 'apply pending migrations, then serve the web app (PORT/HOST)',
  options: [['--no-migrate', 'do not apply pending migrations first']],
  async run(ctx, _args, opts) {
    boundYoungGeneration();
    const { serve } = await import('../../main.ts');
    await serve({ config: ctx.config(), migrate: opts.migrate !== false, print: (line) => ctx.out.line(line) });
    return 0;
  },
};
