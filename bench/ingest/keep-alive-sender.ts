/**
 * The ingest load generator's connection: HTTP/1.1 POSTs over one kept-alive socket, one request
 * in flight (as the provider sends a session's webhooks), the answer read by its status line and
 * content-length. node:http's client cost 0.18–0.21 ms of CPU per request on these 2 cores, which
 * the server and PostgreSQL share; a load generator of wrk's kind costs a fraction of that, so the
 * figure measures the product rather than its client. The requests are the same bytes on the wire.
 */
import net from 'node:net';

export class KeepAliveSender {
  private socket: net.Socket | null = null;
  private received: Buffer = Buffer.alloc(0);
  private pending: { request: Buffer; resolve: (status: number) => void; reject: (error: Error) => void; answered: boolean; sent: number } | null = null;
  private readonly head: string;

  constructor(
    private readonly url: URL,
    headers: Record<string, string>,
  ) {
    const lines = Object.entries({ host: url.host, 'content-type': 'application/json', ...headers }).map(([name, value]) => `${name}: ${value}\r\n`);
    this.head = `POST ${url.pathname} HTTP/1.1\r\n${lines.join('')}`;
  }

  /** POSTs the body; resolves to the answer's status code. */
  post(body: string): Promise<number> {
    if (this.pending) throw new Error('one request at a time per connection');
    const request = Buffer.from(`${this.head}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    return new Promise((resolve, reject) => {
      this.pending = { request, resolve, reject, answered: false, sent: 1 };
      this.connected().write(request);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private connected(): net.Socket {
    if (this.socket) return this.socket;
    const socket = net.connect(Number(this.url.port), this.url.hostname);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.socket === socket) this.socket = null;
      this.received = Buffer.alloc(0);
      const pending = this.pending;
      if (!pending) return;
      // Closed before any answer (a kept-alive connection the server let go): nothing was
      // received, send again, once; closed mid-answer, or again, is a failure.
      if (pending.answered || pending.sent > 1) {
        this.pending = null;
        pending.reject(new Error(pending.answered ? 'connection closed during the answer' : 'connection closed before an answer'));
      } else {
        pending.sent++;
        this.connected().write(pending.request);
      }
    });
    this.socket = socket;
    return socket;
  }

  private onData(chunk: Buffer) {
    this.received = this.received.length ? Buffer.concat([this.received, chunk]) : chunk;
    if (this.pending) this.pending.answered = true;
    const headEnd = this.received.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = this.received.toString('latin1', 0, headEnd);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    const total = headEnd + 4 + length;
    if (this.received.length < total) return;
    this.received = this.received.subarray(total);
    const status = Number(head.slice(9, 12));
    const pending = this.pending;
    this.pending = null;
    if (/\r\nconnection: *close/i.test(head)) this.close();
    pending?.resolve(status);
  }
}
