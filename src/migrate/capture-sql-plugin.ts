import type { Kysely, KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, UnknownRow } from 'kysely';

/** What a dry run prints instead of a string parameter. */
export const REDACTED = '<redacted>';

/**
 * A statement's parameters as a dry run prints them: every string (and binary) value is redacted, numbers, booleans and
 * null are kept. A migration's parameters may be TOTP secrets, encryption envelopes or password and backup-code hashes
 * (OWASP ASVS V7.1.1: no credentials in logs); which ones cannot be told from the SQL, so none is shown.
 */
export function redactParameters(parameters: readonly unknown[]): unknown[] {
  return parameters.map((p) => (p === null || typeof p === 'number' || typeof p === 'boolean' || typeof p === 'bigint' ? (typeof p === 'bigint' ? Number(p) : p) : REDACTED));
}

/** Captures the SQL a dry run would execute, with its parameters redacted ({@link redactParameters}). */
export class CaptureSqlPlugin implements KyselyPlugin {
  constructor(
    private readonly db: Kysely<any>,
    private readonly out: string[],
  ) {}
  transformQuery(args: PluginTransformQueryArgs) {
    const compiled = this.db.getExecutor().compileQuery(args.node, args.queryId);
    this.out.push(compiled.parameters.length ? `${compiled.sql}; -- parameters: ${JSON.stringify(redactParameters(compiled.parameters))}` : `${compiled.sql};`);
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
