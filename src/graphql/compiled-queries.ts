/**
 * Queries run compiled (graphql-jit): each document is compiled once into a function that resolves
 * and completes its fields without graphql-js' per-field interpretation (argument coercion, field
 * lookups, a path and an info object for every field of every row), which was most of the inbox's
 * first screen once its rows came from our own statements.
 *
 * Only queries whose root fields read through our own statements (COMPILED_ROOTS) run compiled:
 * Pothos' Prisma plugin finds the relations a `prismaField` preloaded by the resolve info's path,
 * which graphql-jit's info does not match, so under those each relation would fall back to a query
 * of its own. Mutations and subscriptions keep the standard executor.
 *
 * Compiled against compiled-schema.ts's variant of the schema (global ids as leaves). The plugin is
 * our own rather than @envelop/graphql-jit's, which compiles against the served schema.
 */
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { getOperationAST, Kind, type DocumentNode, type ExecutionArgs, type ExecutionResult, type FragmentDefinitionNode, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../lib/logger.ts';
import { compiledSchema } from './compiled-schema.ts';
import { selectedNames } from './selected-fields.ts';

/** Root query fields whose rows come from our own statements or from no database at all. */
const COMPILED_ROOTS = new Set(['sessions', 'viewer', '__typename']);

/** Per document and operation name (a parsed document is reused across requests). */
const verdicts = new WeakMap<DocumentNode, Map<string | null | undefined, boolean>>();

function compiles(args: ExecutionArgs): boolean {
  let byName = verdicts.get(args.document);
  if (!byName) verdicts.set(args.document, (byName = new Map()));
  let verdict = byName.get(args.operationName);
  if (verdict === undefined) {
    const operation = getOperationAST(args.document, args.operationName);
    const fragments: Record<string, FragmentDefinitionNode> = {};
    for (const definition of args.document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
    verdict = operation?.operation === 'query' && [...selectedNames([operation.selectionSet], fragments)].every((name) => COMPILED_ROOTS.has(name));
    byName.set(args.operationName, verdict);
  }
  return verdict;
}

/** Per schema, document and operation name: its compiled query, or the errors the compiler refused it with. */
const compiled = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string | null | undefined, CompiledQuery | ExecutionResult>>>();

function compiledQuery(args: ExecutionArgs, logger: Logger): CompiledQuery | ExecutionResult {
  let byDocument = compiled.get(args.schema);
  if (!byDocument) compiled.set(args.schema, (byDocument = new WeakMap()));
  let byName = byDocument.get(args.document);
  if (!byName) byDocument.set(args.document, (byName = new Map()));
  let query = byName.get(args.operationName);
  if (!query) {
    query = compileQuery(compiledSchema(args.schema), args.document, args.operationName ?? undefined);
    // A document the compiler refuses is answered with its errors (validation has passed, so this is not expected).
    if (!isCompiledQuery(query)) logger.warn({ errors: query.errors?.map((e) => e.message) }, 'query not compiled');
    byName.set(args.operationName, query);
  }
  return query;
}

export function useCompiledQueries(logger: Logger): Plugin {
  const execute = (args: ExecutionArgs) => {
    const query = compiledQuery(args, logger);
    return isCompiledQuery(query) ? query.query(args.rootValue, args.contextValue, args.variableValues) : query;
  };
  return {
    onExecute({ args, setExecuteFn }) {
      if (compiles(args)) setExecuteFn(execute as never);
    },
  };
}
