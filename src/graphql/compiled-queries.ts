/**
 * Queries run compiled (graphql-jit): each document is compiled once into a function that resolves
 * and completes its fields without graphql-js' per-field interpretation (argument coercion, field
 * lookups, a path and an info object for every field of every row), which was most of the inbox's
 * first screen once its rows came from our own statements. Mutations and subscriptions keep the
 * standard executor: they resolve a handful of fields, and their error paths are what the tests pin.
 */
import { useGraphQlJit } from '@envelop/graphql-jit';
import { getOperationAST, type ExecutionArgs } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../lib/logger.ts';

function isQuery(args: ExecutionArgs): boolean {
  return getOperationAST(args.document, args.operationName)?.operation === 'query';
}

export function useCompiledQueries(logger: Logger): Plugin {
  return useGraphQlJit(
    {},
    {
      enableIf: isQuery,
      // A document the compiler refuses answers with its errors, as the standard executor's validation would.
      onError: (result) => logger.warn({ errors: result.errors?.map((e) => e.message) }, 'query not compiled'),
    },
  ) as Plugin;
}
