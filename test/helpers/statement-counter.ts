import type { KyselyPlugin, OperationNode, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';

/** The table an operation node names (through an alias), or '?' for anything else. */
function tableOf(node: OperationNode | undefined): string {
  if (!node) return '?';
  if (node.kind === 'AliasNode') return tableOf((node as unknown as { node: OperationNode }).node);
  if (node.kind === 'TableNode') return (node as unknown as { table: { identifier: { name: string } } }).table.identifier.name;
  return '?';
}

/** `select sessions+users+two_factor_auth`, `update two_factor_auth`, `insert security_events`, … */
function describeStatement(node: RootOperationNode): string {
  const n = node as unknown as {
    from?: { froms: OperationNode[] };
    joins?: Array<{ table: OperationNode }>;
    table?: OperationNode;
    into?: OperationNode;
  };
  switch (node.kind) {
    case 'SelectQueryNode':
      return `select ${[...(n.from?.froms ?? []), ...(n.joins ?? []).map((j) => j.table)].map(tableOf).join('+')}`;
    case 'UpdateQueryNode':
      return `update ${tableOf(n.table)}`;
    case 'InsertQueryNode':
      return `insert ${tableOf(n.into)}`;
    case 'DeleteQueryNode':
      return `delete ${(n.from?.froms ?? []).map(tableOf).join('+')}`;
    default:
      return node.kind;
  }
}

/**
 * A Kysely plugin that records every statement a Kysely instance really executes (the statements run against the real
 * database; nothing is mocked), as `kind table` strings in order. Counted when the result comes back, so a query
 * compiled once and executed many times counts each time. Transaction control (BEGIN/COMMIT) is the driver's and is
 * not seen here.
 * @example const counter = new StatementCounter(); const db = open.db.withPlugin(counter); …; counter.take()
 */
export class StatementCounter implements KyselyPlugin {
  readonly #labels = new Map<string, string>();
  #statements: string[] = [];

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.#labels.set(args.queryId.queryId, describeStatement(args.node));
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    this.#statements.push(this.#labels.get(args.queryId.queryId) ?? 'unknown');
    return args.result;
  }

  /** The statements executed since the last call, oldest first; starts a new count. */
  take(): string[] {
    const taken = this.#statements;
    this.#statements = [];
    return taken;
  }
}
