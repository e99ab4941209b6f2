/**
 * Limits on the shape of every operation (GraphQL Armor's envelop plugins), set so that what the
 * contract promises always passes: depth up to 12, up to 50 aliases, a page of 100 with a nested
 * page of 50 (connections themselves take at most 100 per page). A refused operation is
 * BAD_USER_INPUT naming the limit, before anything runs.
 */
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError, Kind, visit, type DocumentNode, type ValidationContext } from 'graphql';
import { BadUserInputError } from '../lib/errors.ts';
import type { Plugin } from 'graphql-yoga';

export const OPERATION_LIMITS = {
  /** Nesting of fields (fragments do not count as a level). */
  depth: 12,
  aliases: 50,
  /** Lexical tokens of the document. */
  tokens: 4_000,
  /**
   * Armor's static cost (objects 2, scalars 1, ×1.5 per level, × a literal first/last): the contract's
   * page of 100 sessions, each with a page of 50 chats and their last message, costs about 820 000; one more nested page of 100, about 93 M.
   */
  cost: 3_000_000,
} as const;

function refuse(limit: keyof typeof OPERATION_LIMITS) {
  return (context: ValidationContext | null, error: GraphQLError) => {
    const message = error.message.replace(/^Syntax Error: /, '');
    const coded = new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', limit, fields: { query: message }, http: { status: 400 } } });
    if (context) context.reportError(coded);
    else throw coded; // the token limit stops the parser
  };
}

export function armorPlugins(): Plugin[] {
  const common = { exposeLimits: true, propagateOnRejection: false } as const;
  return [
    maxTokensPlugin({ ...common, n: OPERATION_LIMITS.tokens, onReject: [refuse('tokens')] }),
    maxDepthPlugin({ ...common, n: OPERATION_LIMITS.depth, flattenFragments: true, onReject: [refuse('depth')] }),
    maxAliasesPlugin({ ...common, n: OPERATION_LIMITS.aliases, onReject: [refuse('aliases')] }),
    costLimitPlugin({ ...common, maxCost: OPERATION_LIMITS.cost, flattenFragments: true, onReject: [refuse('cost')] }),
  ] as Plugin[];
}

/** Connections take at most this many per page (`first`/`last`). */
export const MAX_PAGE_SIZE = 100;

/** A `first`/`last` argument of a document: its literal value, or the variable that gives it. */
type PageSizeArgument = { name: string; literal: number } | { name: string; variable: string };

/** Per document (a parsed document is reused across requests): its page-size arguments, found once. */
const pageSizeArguments = new WeakMap<DocumentNode, PageSizeArgument[]>();

function pageSizeArgumentsOf(document: DocumentNode): PageSizeArgument[] {
  let found = pageSizeArguments.get(document);
  if (!found) {
    const list: PageSizeArgument[] = [];
    visit(document, {
      Argument(node) {
        if (node.name.value !== 'first' && node.name.value !== 'last') return;
        if (node.value.kind === Kind.INT) list.push({ name: node.name.value, literal: Number(node.value.value) });
        else if (node.value.kind === Kind.VARIABLE) list.push({ name: node.name.value, variable: node.value.name.value });
      },
    });
    pageSizeArguments.set(document, (found = list));
  }
  return found;
}

/** Throws BAD_USER_INPUT when any `first`/`last` of the operation (literal or variable) is over MAX_PAGE_SIZE. */
function assertPageSizes(document: DocumentNode, variableValues: unknown) {
  const variables = (variableValues ?? {}) as Record<string, unknown>;
  for (const argument of pageSizeArgumentsOf(document)) {
    const value = 'literal' in argument ? argument.literal : variables[argument.variable];
    if (typeof value === 'number' && value > MAX_PAGE_SIZE) throw new BadUserInputError({ [argument.name]: `must be at most ${MAX_PAGE_SIZE}` });
  }
}

/** Refuses a page larger than MAX_PAGE_SIZE, rather than quietly answering a shorter page than asked for. */
export function usePageSizeLimit(): Plugin {
  return {
    onExecute: ({ args }) => assertPageSizes(args.document, args.variableValues),
    onSubscribe: ({ args }) => assertPageSizes(args.document, args.variableValues),
  };
}
