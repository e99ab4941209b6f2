/**
 * Frames written to one WebSocket within a turn of the event loop leave in one system call.
 * `ws` corks and uncorks the TCP socket around each frame, so a burst of events to a thousand
 * subscribers was a `writev` per frame per subscriber: most of the fan-out's CPU time, in the kernel.
 * Corking the socket until the loop's next check phase lets each subscriber's frames of that turn
 * go together; the unsent bytes still count in `bufferedAmount`, so the slow-consumer bound holds.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

const corked = new Set<Duplex>();
let flushScheduled = false;

/** Holds `socket`'s writes until the end of this turn of the event loop (one timer for all sockets). */
export function batchWrites(socket: WebSocket): void {
  // `ws` keeps the TCP socket it frames onto here; nothing else it exposes can hold writes.
  const raw = (socket as unknown as { _socket: Duplex | null })._socket;
  if (!raw || corked.has(raw)) return;
  raw.cork();
  corked.add(raw);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

function flush() {
  flushScheduled = false;
  for (const raw of corked) raw.uncork();
  corked.clear();
}
