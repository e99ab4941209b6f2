/**
 * The web console at /console: a page and its bundle, built from console/src by esbuild on the first
 * visit (no build step, no committed output; about a tenth of a second) and kept in memory, gzipped.
 * The console speaks only the public API (GraphQL over HTTP and graphql-ws), like any client.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { isLoopbackRequest } from '../lib/loopback.ts';
import { sendJson } from './respond.ts';

const CONSOLE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../console');
export const CONSOLE_PATH = '/console';

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

interface Bundle {
  /** By URL path, e.g. /console/assets/app-3F2A….js. */
  assets: Map<string, Asset>;
  html: Asset;
  /** The console's own source files it was built from, and when. */
  sources: string[];
  builtAt: number;
}

export interface ConsoleOptions {
  /** The generated development admin token, given to pages opened on this machine; null otherwise. */
  devToken: () => string | null;
  /** Build again when a source changed since (development: `npm run dev` does not watch console/). */
  rebuildOnChange: boolean;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

function asset(type: string, body: Buffer): Asset {
  return { type, body, gzip: gzipSync(body), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

async function buildBundle(): Promise<Bundle> {
  const builtAt = Date.now();
  const { build } = await import('esbuild');
  const result = await build({
    absWorkingDir: CONSOLE_DIR,
    metafile: true,
    entryPoints: [path.join(CONSOLE_DIR, 'src/main.tsx')],
    bundle: true,
    write: false,
    outdir: path.join(CONSOLE_DIR, 'out'),
    entryNames: 'app-[hash]',
    format: 'esm',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const assets = new Map<string, Asset>();
  const tags: string[] = [];
  for (const file of result.outputFiles) {
    const name = path.basename(file.path);
    const ext = path.extname(name);
    const type = TYPES[ext];
    if (!type) continue;
    const url = `${CONSOLE_PATH}/assets/${name}`;
    assets.set(url, asset(type, Buffer.from(file.contents)));
    tags.push(ext === '.css' ? `<link rel="stylesheet" href="${url}">` : `<script type="module" src="${url}"></script>`);
  }
  const template = await readFile(path.join(CONSOLE_DIR, 'index.html'), 'utf8');
  const html = asset('text/html; charset=utf-8', Buffer.from(template.replace('<!-- assets -->', tags.sort().join('\n    '))));
  const sources = Object.keys(result.metafile.inputs)
    .filter((input) => !input.includes('node_modules'))
    .map((input) => path.resolve(CONSOLE_DIR, input));
  return { assets, html, sources: [...sources, path.join(CONSOLE_DIR, 'index.html')], builtAt };
}

async function changedSince(bundle: Bundle): Promise<boolean> {
  const times = await Promise.all(bundle.sources.map((file) => stat(file).then((s) => s.mtimeMs, () => Infinity)));
  return times.some((time) => time >= bundle.builtAt);
}

// Built once per process and kept; a failed build is tried again on the next visit.
let bundle: Promise<Bundle> | null = null;
async function consoleBundle(opts: { rebuildIfChanged: boolean }): Promise<Bundle> {
  if (bundle && opts.rebuildIfChanged) {
    const built = await bundle.catch(() => null);
    if (built && (await changedSince(built))) bundle = null;
  }
  bundle ??= buildBundle().catch((error: unknown) => {
    bundle = null;
    throw error;
  });
  return bundle;
}

function send(req: IncomingMessage, res: ServerResponse, file: Asset, headers: Record<string, string>) {
  const { etag } = file;
  const common = { ...headers, etag, vary: 'accept-encoding', 'x-content-type-options': 'nosniff' };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, common);
    return res.end();
  }
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? file.gzip : file.body;
  res.writeHead(200, {
    ...common,
    'content-type': file.type,
    'content-length': body.length,
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * The page runs only its own code and talks only to this server (HTTP and WebSocket). Images and
 * sound may come from elsewhere: a message's media link is on PUBLIC_URL, and media we sent by URL
 * is shown from that URL.
 */
function securityHeaders(req: IncomingMessage): Record<string, string> {
  const host = /^[\w.:[\]-]+$/.test(req.headers.host ?? '') ? req.headers.host! : null;
  const sockets = host ? ` ws://${host} wss://${host}` : '';
  return {
    'content-security-policy': [
      "default-src 'self'",
      "img-src 'self' data: blob: https: http:",
      "media-src 'self' blob: https: http:",
      `connect-src 'self'${sockets}`,
      "base-uri 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join('; '),
    'referrer-policy': 'no-referrer',
  };
}

export async function handleConsole(req: IncomingMessage, res: ServerResponse, pathname: string, options: ConsoleOptions) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return sendJson(res, 405, { error: 'method not allowed' });
  }
  if (pathname === `${CONSOLE_PATH}/dev-token`) {
    res.setHeader('cache-control', 'no-store');
    return sendJson(res, 200, { token: isLoopbackRequest(req) ? options.devToken() : null });
  }
  const isAsset = pathname.startsWith(`${CONSOLE_PATH}/assets/`);
  // Assets are named by their content: only the page needs to look for changed sources.
  const { assets, html } = await consoleBundle({ rebuildIfChanged: options.rebuildOnChange && !isAsset });
  if (isAsset) {
    const file = assets.get(pathname);
    if (!file) return sendJson(res, 404, { error: 'not found' });
    return send(req, res, file, { 'cache-control': 'public, max-age=31536000, immutable' });
  }
  // Every other path under /console is a screen of the page (sessions, a session, the inbox, a chat).
  send(req, res, html, { 'cache-control': 'no-cache', ...securityHeaders(req) });
}
