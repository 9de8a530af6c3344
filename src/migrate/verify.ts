import type { AppliedMigration } from './bookkeeping.ts';
import { describeDrift, findDrift, type ColumnReader } from './expectations.ts';
import { loadMigration } from './load-migration.ts';
import type { MigrationFile } from './migration.ts';
import type { VerifyReport } from './migration-report.ts';

/** Compares the live schema with what every applied migration expects, and each applied file with its stored checksum. */
export async function verifySchema(files: MigrationFile[], applied: AppliedMigration[], columnsOf: ColumnReader): Promise<VerifyReport> {
  const problems: VerifyReport['problems'] = [];
  for (const a of applied) {
    const file = files.find((f) => f.id === a.id);
    if (!file) {
      problems.push({ migration: a.name, problem: 'applied, but its file is missing' });
      continue;
    }
    if (file.checksum !== a.checksum) problems.push({ migration: a.name, problem: 'file changed since it was applied' });
    const drift = await findDrift(columnsOf, (await loadMigration(file)).expects);
    for (const d of describeDrift(drift)) problems.push({ migration: a.name, problem: d });
  }
  const pending = files.filter((f) => !applied.some((a) => a.id === f.id)).map((f) => f.name);
  const count = (source: 'crew' | 'app') => applied.filter((a) => a.source === source).length;
  return { ok: problems.length === 0, applied: applied.length, appliedBySource: { crew: count('crew'), app: count('app') }, pending, problems };
}

/** How many user ids a drift message names before "and N more". */
const IDS_NAMED = 20;

/**
 * Adds plain-text TOTP secrets to a verify report as drift: a secret the old app wrote after the last `crew migrate`
 * is readable by anyone with the file (OWASP ASVS V6.2.1), so verify fails (exit 1) and names the users.
 */
export function withPlaintextSecrets(report: VerifyReport, userIds: number[]): VerifyReport {
  if (userIds.length === 0) return { ...report, plaintextSecretUserIds: [] };
  const named = userIds.slice(0, IDS_NAMED).join(', ') + (userIds.length > IDS_NAMED ? ` and ${userIds.length - IDS_NAMED} more` : '');
  const problem = `${userIds.length} TOTP secret(s) stored in plain text, of user id(s) ${named}; run \`crew migrate\` to encrypt them`;
  return { ...report, ok: false, problems: [...report.problems, { migration: 'secrets at rest', problem }], plaintextSecretUserIds: userIds };
}
