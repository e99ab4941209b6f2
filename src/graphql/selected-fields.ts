/**
 * What a document selects beneath a field, read from its syntax: for resolvers that load rows
 * themselves and read only the columns asked for. Fragments are flattened and directives ignored,
 * so the answer is never less than what runs (at most a little more).
 */
import { Kind, type FieldNode, type FragmentDefinitionNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

type Fragments = Record<string, FragmentDefinitionNode>;

function* fieldsOf(sets: readonly SelectionSetNode[], fragments: Fragments): Generator<FieldNode> {
  for (const set of sets) {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) yield selection;
      else if (selection.kind === Kind.INLINE_FRAGMENT) yield* fieldsOf([selection.selectionSet], fragments);
      else {
        const fragment = fragments[selection.name.value];
        if (fragment) yield* fieldsOf([fragment.selectionSet], fragments);
      }
    }
  }
}

/** The fields named `name` within `sets` (under any alias). */
export function childFields(sets: readonly SelectionSetNode[], fragments: Fragments, name: string): FieldNode[] {
  const found: FieldNode[] = [];
  for (const field of fieldsOf(sets, fragments)) if (field.name.value === name) found.push(field);
  return found;
}

/** The selection sets of the fields named `name` within `sets` (under any alias). */
export function childSelections(sets: readonly SelectionSetNode[], fragments: Fragments, name: string): SelectionSetNode[] {
  return ownSelections(childFields(sets, fragments, name));
}

/** The names of the fields selected within `sets`. */
export function selectedNames(sets: readonly SelectionSetNode[], fragments: Fragments): Set<string> {
  const names = new Set<string>();
  for (const field of fieldsOf(sets, fragments)) names.add(field.name.value);
  return names;
}

/** The selection sets of the field being resolved (one per occurrence in the document). */
export function ownSelections(fieldNodes: readonly FieldNode[]): SelectionSetNode[] {
  return fieldNodes.flatMap((f) => (f.selectionSet ? [f.selectionSet] : []));
}

/** The selection sets of a connection's nodes, under `edges { node }` and `nodes`. */
export function connectionNodes(connection: readonly SelectionSetNode[], fragments: Fragments): SelectionSetNode[] {
  return [...childSelections(childSelections(connection, fragments, 'edges'), fragments, 'node'), ...childSelections(connection, fragments, 'nodes')];
}

/** The columns behind the selected fields `names`, by each field's columns (fields not in `map` read none). */
export function columnsOf<C>(names: Set<string>, map: Record<string, C[]>): C[] {
  return [...names].flatMap((n) => map[n] ?? []);
}

/** What a field's syntax is read from: its resolve info, or its node and the document's fragments. */
export type FieldSyntax = Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>;

/**
 * What `compute` makes of the field being resolved, computed once per field of a document (its
 * syntax does not change): the same for every parent of a request, and every request of the document.
 */
export function perSelection<T>(compute: (info: FieldSyntax) => T): (info: FieldSyntax) => T {
  const byField = new WeakMap<FieldNode, T>();
  return (info) => {
    const single = info.fieldNodes.length === 1 ? info.fieldNodes[0]! : null;
    const cached = single && byField.get(single);
    if (cached) return cached;
    const value = compute(info);
    if (single) byField.set(single, value);
    return value;
  };
}
