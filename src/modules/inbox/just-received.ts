/**
 * The inbound messages this process has just inserted, as their `messageReceived` event's resolver
 * reads them: the live feed answers from the inserted row instead of reading it back for every
 * event. Bounded in count and age; a message changed here since (any `messageUpdated` this process
 * publishes) is dropped, so its next read is the database's. A change made by another process in
 * the moment between insert and resolve is not seen: that event then carries the message as it was
 * received, and the change comes as its own `messageUpdated`. A long text is not kept (read back
 * as before), so the memory this holds stays small.
 */
import type { MessageRow } from './inbox-reads.ts';

const KEEP = 512;
const KEEP_MS = 10_000;
const KEEP_TEXT_CHARS = 4_096;

export function createJustReceived(now: () => number = Date.now) {
  const rows = new Map<string, { row: MessageRow; at: number }>();
  return {
    keep(row: MessageRow) {
      if ((row.text?.length ?? 0) > KEEP_TEXT_CHARS) return;
      rows.set(row.id, { row, at: now() });
      // A Map iterates in insertion order: the first key is the oldest.
      if (rows.size > KEEP) rows.delete(rows.keys().next().value!);
    },
    forget(id: string) {
      rows.delete(id);
    },
    get(id: string): MessageRow | undefined {
      const kept = rows.get(id);
      if (!kept) return undefined;
      if (now() - kept.at > KEEP_MS) {
        rows.delete(id);
        return undefined;
      }
      return kept.row;
    },
  };
}

export type JustReceived = ReturnType<typeof createJustReceived>;
