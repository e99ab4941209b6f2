/** A local HTTP endpoint that records the webhooks posted to it, answering with a status of our choice. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Delivery {
  signature: string | undefined;
  // Provider payloads of every shape: each test reads the fields it checks.
  body: { event: string; timestamp?: number; sessionId?: string; data: any };
}

export interface WebhookReceiver {
  url: string;
  deliveries: Delivery[];
  /** The status every delivery is answered with (default 200). */
  answer: number;
  /** The deliveries so far, removed from the list. */
  take(): Delivery[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      deliveries.push({ signature: req.headers['x-webhook-signature'] as string | undefined, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(receiver.answer).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    deliveries,
    answer: 200,
    take: () => deliveries.splice(0),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  return receiver;
}
