/**
 * What a document selects beneath a field, read from its syntax: for resolvers that load rows
 * themselves and read only the columns asked for. Fragments are flattened and directives ignored,
 * so the answer is never less than what runs (at most a little more).
 */
import { Kind, type FieldNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';

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

/** The selection sets of the fields named `name` within `sets` (under any alias). */
export function childSelections(sets: readonly SelectionSetNode[], fragments: Fragments, name: string): SelectionSetNode[] {
  const found: SelectionSetNode[] = [];
  for (const field of fieldsOf(sets, fragments)) if (field.name.value === name && field.selectionSet) found.push(field.selectionSet);
  return found;
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
