import type { CompiledQuery, Compilable } from 'kysely';

/** Marks a named parameter while a query is compiled once; never a value a caller could pass (it starts with NUL). */
const MARKER_PREFIX = '\u0000crew-param:';

/**
 * A Kysely query built and compiled ONCE, with named parameters bound per call: building and compiling a query was a
 * large share of a hot step's CPU in our profiles (docs/PERFORMANCE.md), while its SQL text never changes, only its
 * values. Kysely has no prepared-query API, so `build` receives `param(name)` placeholders (stand-ins for values); the
 * compiled parameter list records where each lands (a name may appear several times) and `bind` fills them in order.
 * Every other value stays as compiled. Compile against the Kysely instance (with its plugins) that will execute it.
 * @example const q = prepareQuery(['id'], (param) => db.deleteFrom('sessions').where('id', '=', param('id')));
 *          await db.executeQuery(q.bind({ id }));
 */
export function prepareQuery<Name extends string, Row>(
  names: readonly Name[],
  build: (param: (name: Name) => never) => Compilable<Row>,
): { compiled: CompiledQuery<Row>; bind(values: Readonly<Record<Name, unknown>>): CompiledQuery<Row> } {
  const param = (name: Name): never => {
    if (!names.includes(name)) throw new TypeError(`prepareQuery: unknown parameter ${name}`);
    return `${MARKER_PREFIX}${name}` as never;
  };
  const compiled = build(param).compile();
  if (compiled.sql.includes(MARKER_PREFIX)) throw new TypeError('prepareQuery: a parameter was inlined into the SQL text');
  // Per compiled position: the parameter's name, or null for a value fixed at compile time (kept as it is).
  const slots = compiled.parameters.map((value) => (typeof value === 'string' && value.startsWith(MARKER_PREFIX) ? (value.slice(MARKER_PREFIX.length) as Name) : null));
  for (const name of names) if (!slots.includes(name)) throw new TypeError(`prepareQuery: parameter ${name} is not used`);
  const fixed = compiled.parameters;
  return {
    compiled,
    bind(values) {
      const parameters = new Array<unknown>(slots.length);
      for (let i = 0; i < slots.length; i++) {
        const name = slots[i]!;
        if (name === null) {
          parameters[i] = fixed[i];
          continue;
        }
        const value = values[name];
        if (value === undefined) throw new TypeError(`prepareQuery: no value for parameter ${name}`);
        parameters[i] = value;
      }
      return { ...compiled, parameters };
    },
  };
}
