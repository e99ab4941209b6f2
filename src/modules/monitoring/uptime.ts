/**
 * Uptime from a session's status history: the share of a window spent CONNECTED (a streak that
 * began before the window counts from the window's start) out of the time its status was known (a
 * session created in the window is not down before it existed), the connections lost in it, and the
 * start of the streak running at its end.
 */
import type { SessionStatus } from '../../generated/prisma/enums.ts';

export interface StatusChange {
  at: number;
  status: SessionStatus;
}

export interface UptimeFigures {
  connectedMs: number;
  /** The part of the window from the first status known (the session's creation, at the latest). */
  knownMs: number;
  /** Connections lost in the window, by the status they went to. */
  disconnects: Map<SessionStatus, number>;
  /** When the streak connected at the window's end began (null when not connected then). */
  connectedSince: number | null;
}

/**
 * `history`: the session's status changes in time order, starting with the last one before the
 * window (if any); `end` is where the history stops being known (now), at most the window's end.
 */
export function uptimeIn(history: readonly StatusChange[], from: number, to: number, end: number): UptimeFigures {
  const figures: UptimeFigures = { connectedMs: 0, knownMs: 0, disconnects: new Map(), connectedSince: null };
  const last = Math.min(to, end);
  const first = history[0];
  if (first && first.at < last) figures.knownMs = last - Math.max(first.at, from);
  let streakStart: number | null = null;
  for (let i = 0; i < history.length; i++) {
    const change = history[i]!;
    if (change.at >= to) break;
    const previous = history[i - 1];
    if (change.status === 'CONNECTED' && previous?.status !== 'CONNECTED') streakStart = change.at;
    if (change.status !== 'CONNECTED') {
      streakStart = null;
      if (previous?.status === 'CONNECTED' && change.at >= from) figures.disconnects.set(change.status, (figures.disconnects.get(change.status) ?? 0) + 1);
    }
    if (change.status !== 'CONNECTED') continue;
    const until = Math.min(history[i + 1]?.at ?? last, last);
    const start = Math.max(change.at, from);
    if (until > start) figures.connectedMs += until - start;
  }
  figures.connectedSince = streakStart;
  return figures;
}
