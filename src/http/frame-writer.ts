/**
 * Writing the same result to many WebSockets cheaply.
 * - Frames written to one socket within a turn of the event loop leave in one system call. `ws`
 *   corks and uncorks the TCP socket around each frame, so a burst of events to a thousand
 *   subscribers was a `writev` per frame per subscriber: most of the fan-out's CPU time, in the
 *   kernel. The socket stays corked until the loop's check phase (one setImmediate for all).
 * - Sockets are uncorked FLUSH_SOCKETS_PER_TURN at a time, each batch in its own turn: a `writev` to a
 *   loopback or LAN socket costs ~10–20 µs of kernel time, so one event to a thousand subscribers
 *   held the loop for 20–50 ms, and the webhooks, database answers and timers of the next messages
 *   waited behind it (the live inbox's arrival → frame latency). Between batches they run.
 * - A `next` message is written as its parts: the subscriber's own start (frame header and
 *   `{"id":…,"payload":`), the payload every subscriber shares, and the closing brace, so nothing
 *   is copied or allocated per subscriber and event (copies were most of the remaining CPU, in
 *   allocation and garbage collection).
 * Both write beneath `ws`, onto the TCP socket it frames onto, only when no extension (compression)
 * is negotiated on the socket; unsent bytes still count in `bufferedAmount`.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

const TEXT_FRAME = { binary: false };
const corked = new Set<Duplex>();
let flushScheduled = false;

/** The TCP socket beneath `socket`, when frames may be written onto it directly. */
function rawSocket(socket: WebSocket): Duplex | null {
  if (socket.extensions !== '') return null;
  return (socket as unknown as { _socket: Duplex | null })._socket;
}

/** Holds the socket's writes until the end of this turn of the event loop. */
function batchWrites(raw: Duplex): void {
  if (corked.has(raw)) return;
  raw.cork();
  corked.add(raw);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

/** About a millisecond of `writev` calls: the longest the loop waits on a fan-out at a time. */
const FLUSH_SOCKETS_PER_TURN = 64;

/** Uncorks the oldest corked sockets; the rest in the next turn, after the I/O that came meanwhile. */
function flush() {
  flushScheduled = false;
  let left = FLUSH_SOCKETS_PER_TURN;
  // A socket written again after its uncork is corked anew behind the others: its frames keep their order.
  for (const raw of corked) {
    if (left-- === 0) break;
    corked.delete(raw);
    raw.uncork();
  }
  if (corked.size > 0) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

/** An unmasked, final text frame's header (RFC 6455 §5.2) for `length` bytes of payload. */
function textFrameHeader(length: number): Buffer {
  if (length <= 125) return Buffer.from([0x81, length]);
  if (length <= 0xffff) return Buffer.from([0x81, 126, length >> 8, length & 0xff]);
  const header = Buffer.alloc(10);
  header[0] = 0x81;
  header[1] = 127;
  header.writeUIntBE(length, 4, 6);
  return header;
}

/** One subscriber's text frames of `start + body + end`: `start` is its own, `body` and `end` shared. */
export class FrameWriter {
  /** The frame header and `start`, for frames of `headFor` bytes. */
  private head: Buffer | null = null;
  private headFor = -1;

  constructor(private readonly start: Buffer) {}

  write(socket: WebSocket, body: Buffer, end: Buffer): void {
    const raw = rawSocket(socket);
    if (!raw) return socket.send(Buffer.concat([this.start, body, end]), TEXT_FRAME);
    const length = this.start.length + body.length + end.length;
    if (length !== this.headFor) {
      this.head = Buffer.concat([textFrameHeader(length), this.start]);
      this.headFor = length;
    }
    batchWrites(raw);
    raw.write(this.head);
    raw.write(body);
    raw.write(end);
  }
}
