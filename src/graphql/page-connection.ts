/**
 * A Relay connection over a page read by our own statements, as Pothos' Prisma connection helpers
 * build it (`resolve`: the same page info, the same cursors), except that an edge's cursor is
 * encoded when it is read. A first screen reads one cursor per page, not one per row: each is a
 * base64 encoding, and the helper also copies each row into its edge.
 */
import { formatPrismaCursor } from '@pothos/plugin-prisma';

interface PageArgs {
  after?: string | null;
  before?: string | null;
  last?: number | null;
}

class Edge<T extends { id: string }> {
  #cursor: string | undefined;
  constructor(readonly node: T) {}
  get cursor(): string {
    return (this.#cursor ??= formatPrismaCursor(this.node, 'id'));
  }
}

/**
 * The connection of `rows`, read with `take` (a connection helper's: one more than the page, negative
 * backward; a backward page already in the connection's order), by the `id` cursor.
 */
export function pageConnection<T extends { id: string }>(rows: T[], args: PageArgs, take: number) {
  const full = rows.length === Math.abs(take);
  const backward = args.before != null || args.last != null;
  const nodes = full ? rows.slice(take < 0 ? 1 : 0, take < 0 ? rows.length : -1) : rows;
  const edges = nodes.map((node) => new Edge(node));
  return {
    edges,
    pageInfo: {
      hasNextPage: args.before != null ? true : args.last != null ? false : full,
      hasPreviousPage: args.after != null ? true : backward ? full : false,
      get startCursor() {
        return edges[0]?.cursor ?? null;
      },
      get endCursor() {
        return edges[edges.length - 1]?.cursor ?? null;
      },
    },
  };
}
