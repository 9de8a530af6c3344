import type { CliCommand } from './cli-command.ts';

/** `--allow-changed` → `allowChanged`, as commander names an option's key. */
function keyOf(longFlag: string): string {
  return longFlag.replace(/^--(no-)?/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The options commander gives a one-word command (`migrate`, `serve`) when everything after its word is a long
 * boolean flag it declares, each once (`crew migrate --list --json`); null for anything else (help, arguments, values,
 * short or unknown flags, errors), which commander parses. Declared `--no-X` flags default X to true, as commander
 * does. Lets the commonest forms start without loading commander (start-up time, docs/PERFORMANCE.md).
 * @example plainFlagOptions(migrateCommand, ['--list', '--json']) // { backup: true, list: true, json: true }
 */
export function plainFlagOptions(spec: CliCommand, flags: readonly string[]): Record<string, unknown> | null {
  const booleans = new Map<string, string>();
  const opts: Record<string, unknown> = {};
  for (const [flagSpec] of spec.options ?? []) {
    const long = flagSpec.split(/[\s,|]+/).find((part) => part.startsWith('--'));
    if (long === undefined || /[<[]/.test(flagSpec)) continue; // an option taking a value: commander's job
    if (long.startsWith('--no-')) opts[keyOf(long)] = true;
    else booleans.set(long, keyOf(long));
  }
  for (const flag of flags) {
    const key = booleans.get(flag);
    if (key === undefined || key in opts) return null;
    opts[key] = true;
  }
  return opts;
}
