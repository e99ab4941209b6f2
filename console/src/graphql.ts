/**
 * Typed GraphQL documents without generated code at run time: codegen (codegen.ts) reads the
 * `graphql(...)` calls and types them; the bundle keeps only the strings, with the fragments each
 * operation spreads appended (fragments are declared before the operations that use them).
 */
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
import type { graphql as generated } from './generated/gql.ts';

export type Document<Result, Variables> = DocumentTypeDecoration<Result, Variables>;

const fragments = new Map<string, string>();

function withFragments(source: string): string {
  const needed: string[] = [];
  const visit = (text: string) => {
    for (const [, name] of text.matchAll(/\.\.\.\s*([_A-Za-z]\w*)/g)) {
      if (!name || name === 'on' || needed.includes(name)) continue;
      const fragment = fragments.get(name);
      if (fragment === undefined) throw new Error(`fragment ${name} is used before it is declared`);
      needed.push(name);
      visit(fragment);
    }
  };
  visit(source);
  return [source, ...needed.map((name) => fragments.get(name))].join('\n');
}

export const graphql = ((source: string): string => {
  const fragment = /^\s*fragment\s+([_A-Za-z]\w*)/.exec(source);
  if (fragment?.[1]) {
    fragments.set(fragment[1], source);
    return source;
  }
  return withFragments(source);
}) as unknown as typeof generated;
