/** GET /metrics: the Prometheus exposition, open or behind METRICS_TOKEN (or the admin token). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { safeEqual } from '../lib/crypto.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../lib/metrics.ts';
import { bearerToken } from '../modules/auth/viewer.ts';
import { sendJson } from './respond.ts';

export const METRICS_PATH = '/metrics';

export async function handleMetrics(req: IncomingMessage, res: ServerResponse, opts: { metrics: Metrics; tokens: string[] | null; logger: Logger }) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return sendJson(res, 405, { error: 'Use GET' });
  }
  if (opts.tokens) {
    const token = bearerToken(req.headers.authorization);
    if (!token || !opts.tokens.some((t) => safeEqual(token, t))) {
      res.setHeader('www-authenticate', 'Bearer');
      return sendJson(res, 401, { error: 'A valid bearer token is required' });
    }
  }
  let text: string;
  try {
    text = await opts.metrics.render();
  } catch (error) {
    opts.logger.warn({ err: error }, 'metrics could not be collected');
    return sendJson(res, 503, { error: 'Metrics could not be collected' });
  }
  res.writeHead(200, { 'content-type': opts.metrics.contentType, 'content-length': Buffer.byteLength(text) });
  res.end(req.method === 'HEAD' ? undefined : text);
}
