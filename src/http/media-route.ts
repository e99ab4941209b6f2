/**
 * GET /media/<link>: the file behind a Message.media.url. 404 for anything wrong with the link or
 * the viewer's access (never saying which), 502 when the provider could not give the file.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { contentDisposition } from '../lib/content-disposition.ts';
import type { MediaService } from '../modules/media/media.service.ts';
import { sendJson } from './respond.ts';

export const MEDIA_PATH = '/media/';

/** Types a browser may show in place; anything else (HTML, SVG, PDF…) is a download, so a customer's file never runs as our page. */
const INLINE_TYPE = /^(image\/(png|jpeg|gif|webp)|audio\/[\w.+-]+|video\/[\w.+-]+)$/;

export async function handleMedia(req: IncomingMessage, res: ServerResponse, token: string, media: MediaService) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return sendJson(res, 405, { error: 'Use GET' });
  }
  const answer = await media.open(token);
  res.setHeader('cache-control', 'private, no-store');
  switch (answer.type) {
    case 'not-found':
      return sendJson(res, 404, { error: 'not found' });
    case 'unavailable':
      return sendJson(res, 502, { error: 'The provider could not supply this file; try again later' });
    case 'redirect':
      res.writeHead(302, { location: answer.location, 'content-length': '0' });
      return void res.end();
  }
  const type = answer.mimetype.split(';')[0]!.trim().toLowerCase();
  const inline = answer.kind !== 'DOCUMENT' && INLINE_TYPE.test(type);
  res.writeHead(200, {
    'content-type': answer.mimetype,
    ...(answer.length !== null ? { 'content-length': String(answer.length) } : {}),
    'content-disposition': contentDisposition(inline ? 'inline' : 'attachment', answer.fileName),
    'cache-control': `private, max-age=${answer.maxAgeSeconds}`,
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
  });
  const { body } = answer;
  if (Buffer.isBuffer(body)) return void res.end(req.method === 'HEAD' ? undefined : body);
  if (req.method === 'HEAD') {
    await body.cancel();
    return void res.end();
  }
  const stream = Readable.fromWeb(body as WebReadableStream<Uint8Array>);
  // A viewer who goes away stops the download from the provider too.
  res.once('close', () => stream.destroy());
  await new Promise<void>((resolve) => {
    stream.once('error', () => res.destroy());
    stream.once('close', resolve);
    stream.pipe(res);
  });
}
