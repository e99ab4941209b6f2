/**
 * An envelop plugin counting GraphQL operations by name and outcome, with their durations, for
 * HTTP and WebSocket alike (both run the same envelop).
 */
import { getOperationAST, type DocumentNode, type ExecutionResult, type GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Metrics } from '../lib/metrics.ts';

/** Operation names come from clients' documents: long ones are cut so a label stays a label. */
const MAX_NAME = 100;

function operationOf(document: DocumentNode, operationName: string | null | undefined) {
  const op = getOperationAST(document, operationName ?? undefined);
  return { operation: (op?.name?.value ?? operationName ?? 'anonymous').slice(0, MAX_NAME), type: op?.operation ?? 'unknown' };
}

/** `ok`, or the first error's contract code (expected failures are coded by `codeOf`). */
function outcomeOf(result: ExecutionResult | AsyncIterable<unknown>, codeOf: (error: GraphQLError) => string | undefined): string {
  if (Symbol.asyncIterator in result) return 'ok';
  const first = result.errors?.[0];
  if (!first) return 'ok';
  return first.extensions?.code ? String(first.extensions.code) : (codeOf(first) ?? 'INTERNAL_SERVER_ERROR');
}

/** An operation refused before it ran (no valid token): counted with its code and no duration. */
export function refusedOperation(metrics: Metrics, args: { document: DocumentNode; operationName?: string | null }, code: string) {
  metrics.graphqlOperation({ ...operationOf(args.document, args.operationName), outcome: code }, 0);
}

export function useOperationMetrics<C extends Record<string, unknown>>(metrics: Metrics, codeOf: (error: GraphQLError) => string | undefined): Plugin<C> {
  const observe = (args: { document: DocumentNode; operationName?: string | null }, started: number, result: ExecutionResult | AsyncIterable<unknown>) =>
    metrics.graphqlOperation({ ...operationOf(args.document, args.operationName), outcome: outcomeOf(result, codeOf) }, (performance.now() - started) / 1000);
  return {
    onExecute({ args }) {
      const started = performance.now();
      return { onExecuteDone: ({ result }) => observe(args, started, result) };
    },
    onSubscribe({ args }) {
      const started = performance.now();
      return { onSubscribeResult: ({ result }) => observe(args, started, result) };
    },
  };
}
