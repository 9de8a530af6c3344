/** A refused migration operation; `exitCode` is 2 for bad usage (unknown name), 1 otherwise. */
export class MigrationError extends Error {
  override name = 'MigrationError';
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

/** The outcome of one migration in a run. */
export interface MigrationResult {
  id: string;
  name: string;
  status: 'applied' | 'adopted' | 'failed' | 'not-run';
  lines: string[];
  /** Dry run only: the statements that would run. */
  sql?: string[];
  error?: string;
  executionMs: number;
}

/** The outcome of `crew migrate`. */
export interface MigrationReport {
  ok: boolean;
  dryRun: boolean;
  found: number;
  backupPath: string | null;
  results: MigrationResult[];
  /** Plain-text TOTP secrets the secret sweep encrypted in this run (0 in a dry run). */
  secretsEncrypted?: number;
  lines: string[];
}

/** One row of `crew migrate --list`. */
export interface MigrationStatus {
  id: string;
  name: string;
  /** `crew` (built in) or `app` (your folder). */
  source: 'crew' | 'app';
  state: 'applied' | 'pending' | 'changed' | 'missing-file';
  appliedAt: string | null;
  adopted: boolean;
}

/** The outcome of `crew migrate NAME --rollback`. */
export interface RollbackReport {
  ok: boolean;
  /** The person declined the confirmation; nothing was changed. */
  cancelled?: boolean;
  id: string;
  name: string;
  backupPath: string | null;
  lines: string[];
}

/** The outcome of `crew migrate forget NAME`. */
export type ForgetReport = RollbackReport;

/** The outcome of `crew db verify`. */
export interface VerifyReport {
  ok: boolean;
  applied: number;
  /** The two groups: crew's built-ins and the app's own. */
  appliedBySource: { crew: number; app: number };
  pending: string[];
  problems: Array<{ migration: string; problem: string }>;
  /** Users whose TOTP secret is stored in plain text (drift: `crew migrate` encrypts them). */
  plaintextSecretUserIds?: number[];
}

/** The guide's "Migration Summary" block. */
export function formatSummary(report: MigrationReport): string[] {
  if (report.results.length === 0) return [];
  const mark = { applied: '✓', adopted: '✓', failed: '✗', 'not-run': '-' } as const;
  const out = ['', report.dryRun ? 'Migration Summary (dry run)' : 'Migration Summary'];
  for (const r of report.results) {
    const note = r.status === 'adopted' ? ' (existing table adopted)' : r.status === 'not-run' ? ' (not run)' : r.status === 'failed' ? `: ${r.error}` : '';
    out.push(`${mark[r.status]} ${r.name}${note}`);
  }
  const ok = report.results.filter((r) => r.status === 'applied' || r.status === 'adopted').length;
  const failed = report.results.filter((r) => r.status === 'failed').length;
  const notRun = report.results.filter((r) => r.status === 'not-run').length;
  out.push(`Total: ${ok} successful, ${failed} failed${notRun ? `, ${notRun} not run` : ''}`);
  return out;
}

/** The `--list` table, in two groups: crew's built-ins, then the app's own (`appDir`: where they are read from). */
export function formatStatusList(rows: MigrationStatus[], appDir: string | null = null): string[] {
  const width = Math.max(0, ...rows.map((r) => `${r.name} (${r.id})`.length));
  const out = ['Available migrations:'];
  const groups: Array<[string, MigrationStatus[]]> = [['Built in (crew):', rows.filter((r) => r.source === 'crew')]];
  const app = rows.filter((r) => r.source === 'app');
  if (app.length > 0 || appDir !== null) groups.push([`Yours (${appDir ?? 'app'}):`, app]);
  for (const [heading, group] of groups) {
    out.push(heading);
    if (group.length === 0) out.push('  (none yet: `crew migrate create NAME` writes the first)');
    for (const r of group) out.push(statusLine(r, width));
  }
  return out;
}

/** One `--list` row: mark, name (id), state. */
function statusLine(r: MigrationStatus, width: number): string {
  const label = `${r.name} (${r.id})`.padEnd(width);
  const when = r.appliedAt ? r.appliedAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '';
  return {
    applied: `  ✓ ${label}  applied ${when}${r.adopted ? ' (adopted)' : ''}`,
    pending: `  ○ ${label}  pending`,
    changed: `  ! ${label}  applied ${when}, but the file has changed since`,
    'missing-file': `  ? ${label}  applied ${when}, but its file is missing (\`crew migrate forget ${r.name}\` if deleted on purpose)`,
  }[r.state];
}
