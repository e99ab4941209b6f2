/**
 * Response times kept on the messages as they arrive, so that health reads one column of a
 * window's rows instead of walking every chat. An inbound message whose chat's previous message (in
 * time order: timestamp, then seq) is not inbound begins a customer's turn (`startsTurn`); once the
 * chat has an outbound message after it, `responseSeconds` holds the time to the first one.
 *
 * A message added anywhere in a chat (in order, late, or moved in by a merge of chats) changes only
 * the turns after the chat's last outbound message before it (C), and of those only these can
 * differ: the first message after C (the turn it begins may now be answered), the messages from the
 * added one's time on, and, for their order, the one just before them. Between the first after C
 * and the added time every message is inbound after an inbound: none begins a turn, before or
 * after. So a customer's hundredth message without a reply (or a busy group's next one) reads three
 * rows by index, not the whole unanswered run. They are computed again in the writer's
 * transaction, under the inbox's message lock. Nothing else changes a message's chat, time or
 * direction.
 */
import type { RawExecutor } from '../../lib/plain-sql.ts';

export interface ChatChange {
  chatId: string;
  /** The earliest timestamp of the messages added (null: the whole chat). */
  since: Date | null;
}

type Db = Pick<RawExecutor, '$executeRawUnsafe'>;

/** A message being added to a chat: its direction and time (ms, as stored). */
export interface AddedMessage {
  chatId: string;
  inbound: boolean;
  atMs: number;
}

/** A chat's last message in time order before the messages are added; null: it has none. */
export type ChatEnd = { direction: string; atMs: number } | null;

/**
 * The turn columns of inbound messages added after everything in their chats, known without a
 * statement: none of the chat's other messages changes (an inbound message answers nothing), the
 * first added begins a turn unless the chat's last message is inbound, the others follow it and
 * none is answered yet. Chats this cannot settle go to `recompute` (recomputeTurns): an outbound
 * message among the added ones, one older than the chat's end, two at the same time (their order is
 * the commit order, not known here), or a chat whose end is not known.
 */
export function turnsAtChatEnds(added: readonly AddedMessage[], ends: ReadonlyMap<string, ChatEnd>): { starts: Set<number>; recompute: Set<string> } {
  const byChat = new Map<string, number[]>();
  for (let i = 0; i < added.length; i++) {
    const list = byChat.get(added[i]!.chatId) ?? [];
    list.push(i);
    byChat.set(added[i]!.chatId, list);
  }
  const starts = new Set<number>();
  const recompute = new Set<string>();
  for (const [chatId, indexes] of byChat) {
    const end = ends.get(chatId);
    const times = indexes.map((i) => added[i]!.atMs);
    const settled =
      end !== undefined &&
      indexes.every((i) => added[i]!.inbound) &&
      (end === null || Math.min(...times) >= end.atMs) &&
      new Set(times).size === times.length;
    if (!settled) {
      recompute.add(chatId);
      continue;
    }
    if (end?.direction !== 'INBOUND') starts.add(indexes.reduce((first, i) => (added[i]!.atMs < added[first]!.atMs ? i : first)));
  }
  return { starts, recompute };
}

/** The turn columns of the inbound messages the changes can affect, computed again. */
export async function recomputeTurns(db: Db, changes: ChatChange[]): Promise<void> {
  const earliest = new Map<string, string>();
  for (const { chatId, since } of changes) {
    const at = since ? since.toISOString() : '-infinity';
    const seen = earliest.get(chatId);
    if (seen === undefined || at === '-infinity' || (seen !== '-infinity' && at < seen)) earliest.set(chatId, at);
  }
  if (earliest.size === 0) return;
  // Per chat (a lateral), and the rows to change found by id: a batch touching many chats still
  // reads only their recent messages, whatever the planner guesses of the ranges.
  await db.$executeRawUnsafe(
    `WITH changed AS (
       SELECT u.chat, u.since, COALESCE(a.timestamp, '-infinity') AS ts, COALESCE(a.seq, 0) AS seq
       FROM unnest($1::uuid[], $2::timestamp(3)[]) AS u(chat, since)
       LEFT JOIN LATERAL (
         SELECT o.timestamp, o.seq FROM messages o
         WHERE o."chatId" = u.chat AND o.direction = 'OUTBOUND' AND o.timestamp < u.since
         ORDER BY o.timestamp DESC, o.seq DESC LIMIT 1) a ON true
     ),
     figures AS MATERIALIZED (
       SELECT t.id, t.starts, CASE WHEN t.starts THEN EXTRACT(EPOCH FROM (t.answered - t.timestamp))::float8 END AS seconds
       FROM changed c CROSS JOIN LATERAL (
         SELECT r.id, r.direction, r.timestamp,
           lag(r.direction) OVER (ORDER BY r.timestamp, r.seq) IS DISTINCT FROM 'INBOUND' AS starts,
           min(r.timestamp) FILTER (WHERE r.direction = 'OUTBOUND') OVER (ORDER BY r.timestamp DESC, r.seq DESC ROWS UNBOUNDED PRECEDING) AS answered
         FROM (
           (SELECT m.id, m.direction, m.timestamp, m.seq FROM messages m
            WHERE m."chatId" = c.chat AND (m.timestamp, m.seq) > (c.ts, c.seq)
            ORDER BY m.timestamp, m.seq LIMIT 1)
           UNION
           (SELECT m.id, m.direction, m.timestamp, m.seq FROM messages m
            WHERE m."chatId" = c.chat AND m.timestamp < c.since AND (m.timestamp, m.seq) > (c.ts, c.seq)
            ORDER BY m.timestamp DESC, m.seq DESC LIMIT 1)
           UNION
           (SELECT m.id, m.direction, m.timestamp, m.seq FROM messages m
            WHERE m."chatId" = c.chat AND m.timestamp >= c.since)
         ) r) t
       WHERE t.direction = 'INBOUND'
     )
     UPDATE messages m SET "startsTurn" = f.starts, "responseSeconds" = f.seconds
     FROM figures f
     WHERE m.id = ANY(ARRAY(SELECT id FROM figures)) AND m.id = f.id
       AND (m."startsTurn", m."responseSeconds") IS DISTINCT FROM (f.starts, f.seconds)`,
    [...earliest.keys()],
    [...earliest.values()],
  );
}
