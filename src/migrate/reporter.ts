/** Collects the report lines of ONE operation (a fresh one per call) and passes each on as it happens. */
export interface Reporter {
  readonly lines: string[];
  line(text: string): void;
}

/**
 * A reporter that forwards every line to `parent` (a migration's lines also belong to the run's report)
 * or, at the top, to `onLine` (the CLI prints them as they happen).
 * @example const run = createReporter(console.log); const step = createReporter(undefined, run);
 */
export function createReporter(onLine?: (line: string) => void, parent?: Reporter): Reporter {
  const lines: string[] = [];
  return {
    lines,
    line(text) {
      lines.push(text);
      if (parent) parent.line(text);
      else onLine?.(text);
    },
  };
}
