/**
 * A field whose resolver reads its parent's property of the field's own name, marked so that Pothos
 * builds it without a resolver, as it does `t.expose*` fields: graphql-js reads the property by
 * itself, and a compiled query (graphql-jit) reads it inline, where a resolver is called with a
 * resolve info built for each row (on the inbox's first screen, most of its execution). The types
 * in Prisma's select mode cannot use `t.expose*` (each exposed field would plan a selection per row).
 * Pothos drops the resolver only when the marked name is the field's own: a field marked with
 * another name keeps its resolver (correct, only slower).
 */
export function ownProperty<Name extends string>(name: Name) {
  return { extensions: { pothosExposedField: name } } as const;
}
