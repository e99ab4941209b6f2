/**
 * The schema compiled queries are compiled against (compiled-queries.ts): the served schema, except
 * that a node's global id is printed by a leaf serializer from its row's `id` instead of resolved.
 * graphql-jit calls every field with a resolver through a handler that builds its resolve info,
 * arguments and response path for each row (on the inbox's first screen 220 ids, most of its
 * per-row garbage); a leaf is read and serialized inline. The answer is the same: a node's `id`
 * resolver encodes its row's `id` column (Pothos' prismaNode with `id: { field: 'id' }`), which is
 * checked for each type when the variant is made; a type whose resolver answers otherwise keeps it.
 */
import { mapSchema } from '@graphql-tools/utils';
import { toGlobalId } from './ids.ts';
import { GraphQLID, GraphQLNonNull, GraphQLObjectType, GraphQLScalarType, isNonNullType, type GraphQLSchema } from 'graphql';

const variants = new WeakMap<GraphQLSchema, GraphQLSchema>();

/** A row id for the check: any text does, the resolver only encodes it. */
const PROBE_ID = '00000000-0000-7000-8000-000000000000';

/** Whether the `id` resolver of `type` answers its row's `id` column as a global id of the type (tried on a row of only that). */
function idIsRowId(type: GraphQLObjectType): boolean {
  const field = type.getFields().id;
  if (!field?.resolve || !isNonNullType(field.type) || field.type.ofType !== GraphQLID) return false;
  try {
    return field.resolve({ id: PROBE_ID }, {}, {}, { parentType: type, fieldName: 'id' } as never) === toGlobalId(type.name, PROBE_ID);
  } catch {
    return false;
  }
}

export function compiledSchema(schema: GraphQLSchema): GraphQLSchema {
  let variant = variants.get(schema);
  if (variant) return variant;
  variant = mapSchema(schema);
  for (const type of Object.values(variant.getTypeMap())) {
    if (!(type instanceof GraphQLObjectType) || !type.getInterfaces().some((i) => i.name === 'Node') || !idIsRowId(type)) continue;
    const field = type.getFields().id!;
    const typename = type.name;
    // Named apart from ID: graphql-jit keeps one serializer per scalar name. Validation ran on the served schema.
    field.type = new GraphQLNonNull(new GraphQLScalarType({ name: `${typename}GlobalID`, serialize: (id) => toGlobalId(typename, String(id)) }));
    field.resolve = undefined;
  }
  variants.set(schema, variant);
  return variant;
}
