import { sql, type Kysely } from 'kysely';
import { canonicalSecret, isPlaintextSecret } from '../lib/plaintext-secret.ts';
import type { PlanRun } from './plan-run.ts';

/** Rows read and written per transaction: each batch commits, so a killed run keeps what it did and a re-run goes on. */
export const SWEEP_BATCH_ROWS = 5000;
/** Rows per UPDATE statement (5 parameters each: far below SQLite's 32,766 and PostgreSQL's 65,535). */
const ROWS_PER_STATEMENT = 200;

/** Progress of a long data pass, for a progress bar (TTY) or progress lines. */
export interface Progress {
  task: string;
  doneRows: number;
  totalRows: number;
  finished: boolean;
}

/** What one sweep found and did. */
export interface SweepResult {
  /** Plain-text secrets encrypted now. */
  encrypted: number;
  /** Plain-text secrets that changed while being encrypted (the old app still writing): left for the next run. */
  changedMeanwhile: number;
}

const NOTHING: SweepResult = { encrypted: 0, changedMeanwhile: 0 };
const TASK = 'encrypting plain-text TOTP secrets';

/** Reads plain-text secret candidates: crew's envelopes start with `v1.`, never a base32 character. */
function candidates(db: Kysely<any>) {
  return db.selectFrom('two_factor_auth').where('secret', 'not like', 'v1.%');
}

/** How many rows hold a secret that is not an encryption envelope (an upper bound on what the sweep encrypts). */
export async function countCandidates(db: Kysely<any>): Promise<number> {
  const row = await candidates(db).select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** The user ids whose stored TOTP secret is plain text (`crew db verify` names them), read in keyset batches. */
export async function usersWithPlaintextSecrets(db: Kysely<any>, columnsOf: (table: string) => Promise<string[] | null>): Promise<number[]> {
  if (!(await hasSecretColumn(db, columnsOf))) return [];
  const users: number[] = [];
  for (let afterId: number | null = null; ; ) {
    let query = candidates(db).select(['id', 'user_id', 'secret']).orderBy('id').limit(SWEEP_BATCH_ROWS);
    if (afterId !== null) query = query.where('id', '>', afterId);
    const rows = (await query.execute()) as Array<{ id: number; user_id: number; secret: unknown }>;
    if (rows.length === 0) break;
    for (const r of rows) if (isPlaintextSecret(r.secret)) users.push(Number(r.user_id));
    afterId = Number(rows[rows.length - 1]!.id);
  }
  return users.sort((a, b) => a - b);
}

async function hasSecretColumn(_db: Kysely<any>, columnsOf: (table: string) => Promise<string[] | null>): Promise<boolean> {
  return (await columnsOf('two_factor_auth'))?.includes('secret') ?? false;
}

/**
 * The secret sweep, a runner step of every `crew migrate` (before pending migrations and again after): finds TOTP
 * secrets stored in plain text (the Flask app's, or written by it since) and encrypts them with the AES-256-GCM
 * envelope (OWASP ASVS V6.2.1, V2.9.1). Keyset pagination by id, one transaction per batch of {@link SWEEP_BATCH_ROWS}
 * rows, each row written by compare-and-swap (`WHERE id = ? AND secret = <the plain text read>`), so a killed run
 * loses nothing and a concurrent writer's newer value is never overwritten. Runs on the connection that holds the
 * migration lock. SQLite: freed bytes are zeroed and the WAL emptied afterwards (see the adapter).
 */
export async function sweepPlaintextSecrets(run: PlanRun): Promise<SweepResult> {
  if (!(await hasSecretColumn(run.db, (t) => run.adapter.columnsOf(run.db, t)))) return NOTHING;
  const totalRows = await countCandidates(run.db);
  if (totalRows === 0) return NOTHING;
  if (!run.encryptSecret) {
    run.reporter.line(`! ${totalRows} TOTP secret(s) may be plain text, but no encryption key is configured (CREW_ENCRYPTION_KEY): not encrypted`);
    return NOTHING;
  }
  const encrypt = run.encryptSecret;
  // The Flask schema's VARCHAR(32) cannot hold an envelope (PostgreSQL); widening keeps every value.
  if (await run.adapter.widenToText(run.db, 'two_factor_auth', 'secret')) run.reporter.line('✓ widened two_factor_auth.secret to text (room for the encryption envelope)');
  const progress = run.progress ?? progressLines(run);
  const batchRows = run.sweepBatchRows ?? SWEEP_BATCH_ROWS;
  const result = { encrypted: 0, changedMeanwhile: 0 };
  const warning = await run.adapter.overwritingFreedSpace(async () => {
    let afterId: number | null = null;
    let doneRows = 0;
    progress({ task: TASK, doneRows, totalRows, finished: false });
    for (;;) {
      let query = candidates(run.db).select(['id', 'secret']).orderBy('id').limit(batchRows);
      if (afterId !== null) query = query.where('id', '>', afterId);
      const rows = (await query.execute()) as Array<{ id: number; secret: unknown }>;
      if (rows.length === 0) break;
      const changes = rows.filter((r) => isPlaintextSecret(r.secret)).map((r) => ({ id: Number(r.id), old: r.secret as string, sealed: encrypt(canonicalSecret(r.secret as string)) }));
      const written = changes.length === 0 ? 0 : await run.adapter.writeTransaction(run.db, (trx) => writeBatch(trx, changes));
      result.encrypted += written;
      result.changedMeanwhile += changes.length - written;
      afterId = Number(rows[rows.length - 1]!.id);
      doneRows += rows.length;
      progress({ task: TASK, doneRows: Math.min(doneRows, totalRows), totalRows, finished: false });
    }
    progress({ task: TASK, doneRows: totalRows, totalRows, finished: true });
  });
  if (result.encrypted > 0) run.reporter.line(`✓ encrypted ${result.encrypted} plain-text TOTP secret(s)`);
  if (result.changedMeanwhile > 0) run.reporter.line(`! ${result.changedMeanwhile} secret(s) changed while being encrypted (is the old app still running?); run \`crew migrate\` again`);
  if (warning) run.reporter.line(`! ${warning}`);
  return result;
}

/**
 * Writes one batch by compare-and-swap, {@link ROWS_PER_STATEMENT} rows per statement (one round trip each, not one
 * per row). The rows are named by primary key, `WHERE id IN (…)`, so both engines look each one up by its key: a join
 * with a VALUES list (`UPDATE … FROM (VALUES …)`) made SQLite's planner scan the whole table for every statement (it
 * has no statistics for the list), hours for 700,000 rows. Each row changes only if its secret is still the plain text
 * read: `secret = CASE id WHEN … THEN <old> END`.
 */
export function compareAndSwapStatement(chunk: ReadonlyArray<{ id: number; old: string; sealed: string }>) {
  const newSecret = sql.join(chunk.map((c) => sql`WHEN ${c.id} THEN CAST(${c.sealed} AS TEXT)`), sql` `);
  const oldSecret = sql.join(chunk.map((c) => sql`WHEN ${c.id} THEN CAST(${c.old} AS TEXT)`), sql` `);
  const ids = sql.join(chunk.map((c) => sql`${c.id}`));
  return sql`UPDATE two_factor_auth SET secret = CASE id ${newSecret} END WHERE id IN (${ids}) AND secret = CASE id ${oldSecret} END`;
}

async function writeBatch(trx: Kysely<any>, changes: Array<{ id: number; old: string; sealed: string }>): Promise<number> {
  let written = 0;
  for (let start = 0; start < changes.length; start += ROWS_PER_STATEMENT) {
    const r = await compareAndSwapStatement(changes.slice(start, start + ROWS_PER_STATEMENT)).execute(trx);
    written += Number(r.numAffectedRows ?? 0n);
  }
  return written;
}

/** Progress as report lines (no TTY): the start, every further tenth, and the end. */
function progressLines(run: PlanRun): (p: Progress) => void {
  let lastTenth = -1;
  return (p) => {
    const tenth = p.totalRows === 0 ? 10 : Math.floor((p.doneRows / p.totalRows) * 10);
    if (tenth === lastTenth || (p.finished && lastTenth === 10)) return;
    lastTenth = tenth;
    run.reporter.line(`  ${p.task}: ${p.doneRows} of ${p.totalRows} row(s) checked (${tenth * 10} %)`);
  };
}
