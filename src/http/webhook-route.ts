/** POST /api/whatsapp/webhook: raw body (size-limited) → webhook service → status code. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../lib/logger.ts';
import type { IngestOutcome, WebhookService } from '../modules/webhooks/webhook.service.ts';
import { sendJson } from './respond.ts';

export const WEBHOOK_PATHS = new Set(['/api/whatsapp/webhook', '/api/whatsapp/webhook.php']);
export const MAX_WEBHOOK_BYTES = 5 * 1024 * 1024;

/** Past this, an oversized body is cut off rather than read to the end before the 413. */
const MAX_DRAIN_BYTES = 4 * MAX_WEBHOOK_BYTES;

class BodyTooLarge extends Error {}

/**
 * Reads the body up to `limit`; an oversized one is drained (so the client sees the 413) and refused.
 * Plain stream events rather than `for await`: an async iterator per request was a visible part of
 * a webhook's CPU.
 */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_DRAIN_BYTES) {
        req.destroy();
        reject(new BodyTooLarge());
      } else if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > limit) reject(new BodyTooLarge());
      else resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
    // A client gone before the end: nothing to store, and no 'end' will come.
    req.on('close', () => {
      if (!req.complete) reject(new Error('the webhook request was aborted'));
    });
  });
}

/** What became of each webhook (too_large and error are the route's own outcomes). */
export type WebhookObserver = (o: IngestOutcome | { outcome: 'too_large' | 'error' }) => void;

export async function handleWebhook(req: IncomingMessage, res: ServerResponse, webhooks: WebhookService, logger: Logger, observe: WebhookObserver = () => {}) {
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return sendJson(res, 405, { error: 'Use POST' });
  }
  let raw: string;
  try {
    raw = await readBody(req, MAX_WEBHOOK_BYTES);
  } catch (error) {
    if (error instanceof BodyTooLarge) {
      logger.warn('webhook refused: body too large');
      observe({ outcome: 'too_large' });
      return sendJson(res, 413, { error: `Body exceeds ${MAX_WEBHOOK_BYTES} bytes` });
    }
    throw error;
  }
  const signature = req.headers['x-webhook-signature'];
  try {
    const { status, body, ...outcome } = await webhooks.ingest(raw, typeof signature === 'string' ? signature : null);
    observe(outcome);
    return sendJson(res, status, body);
  } catch (error) {
    // Not stored: a 5xx makes the provider retry.
    // Only the error's kind: a driver message may quote the payload, which holds the session's API key.
    logger.error({ errorName: (error as Error)?.name, errorCode: (error as { code?: string })?.code }, 'webhook could not be stored');
    observe({ outcome: 'error' });
    return sendJson(res, 503, { error: 'Could not store the event; retry later' });
  }
}
