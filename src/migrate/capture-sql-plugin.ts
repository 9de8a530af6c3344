import type { Kysely, KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, UnknownRow } from 'kysely';

/** Captures the SQL a dry run would execute. */
export class CaptureSqlPlugin implements KyselyPlugin {
  constructor(
    private readonly db: Kysely<any>,
    private readonly out: string[],
  ) {}
  transformQuery(args: PluginTransformQueryArgs) {
    const compiled = this.db.getExecutor().compileQuery(args.node, args.queryId);
    this.out.push(compiled.parameters.length ? `${compiled.sql}; -- parameters: ${JSON.stringify(compiled.parameters)}` : `${compiled.sql};`);
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
