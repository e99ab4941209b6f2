/**
 * Viewing media, on the embedded database, against the bytes served bare in the same run:
 * - baseline: GET of the sandbox's decrypted file (`/sandbox/api/decrypted-media/<id>`: the same
 *   bytes from memory, no checks) by 16 concurrent keep-alive clients;
 * - the product: GET of the Message.media.url of the same photo (link signature and expiry, the
 *   viewer's access and the message read from the database, bytes from the cache) the same way.
 * Both run in this process, beside the load generator. The first view (decrypt-media, download,
 * cache) is timed too.
 */
import http from 'node:http';
import type { BenchResult } from './run.ts';
import { graphql, sandboxControl, startBenchApp } from './support/bench-app.ts';

const VIEWS = Number(process.env.BENCH_MEDIA_VIEWS ?? 3_000);
const CONCURRENCY = 16;
/** A photo of a receipt: about 120 KB. */
const PHOTO = Buffer.alloc(120 * 1024, 7);

function get(agent: http.Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

/** Views per second of `url` by CONCURRENCY clients; every answer must be 200. */
async function viewsPerSecond(url: string): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < VIEWS) {
        const status = await get(agent, url);
        if (status !== 200) throw new Error(`${url} answered ${status}`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return VIEWS / seconds;
}

export async function mediaBenchmarks(): Promise<BenchResult[]> {
  const { instance, running, session, provider } = await startBenchApp();
  try {
    await sandboxControl(provider, session.providerSessionId, 'inbound', { from: '+255700000901', media: { kind: 'image', mimetype: 'image/jpeg', base64: PHOTO.toString('base64') } });
    const query = `query($id: ID!) { session(id: $id) { chats(first: 1) { nodes { messages(first: 1) { nodes { providerMessageId media { url } } } } } } }`;
    let message: { providerMessageId: string; media: { url: string } } | undefined;
    for (let i = 0; i < 400 && !message; i++) {
      const data = (await graphql(running, query, { id: session.globalId })) as unknown as { session: { chats: { nodes: { messages: { nodes: (typeof message)[] } }[] } } };
      message = data.session.chats.nodes[0]?.messages.nodes[0];
      if (!message) await new Promise((r) => setTimeout(r, 25));
    }
    if (!message) throw new Error('the photo was not stored');

    const agent = new http.Agent({ keepAlive: true });
    const firstStarted = performance.now();
    if ((await get(agent, message.media.url)) !== 200) throw new Error('first view failed');
    const firstMs = performance.now() - firstStarted;
    agent.destroy();
    const bare = `${running.url}/sandbox/api/decrypted-media/${message.providerMessageId}`;

    let baseline = 0;
    let measured = 0;
    for (let round = 0; round < 3; round++) {
      baseline = Math.max(baseline, await viewsPerSecond(bare));
      measured = Math.max(measured, await viewsPerSecond(message.media.url));
    }
    return [
      {
        name: `media views: ${VIEWS} views of one 120 KB photo by ${CONCURRENCY} clients (cached)`,
        unit: 'views/s',
        baseline,
        measured,
        target: { kind: 'ratio-at-least', value: 0.1 },
        note: `first view (decrypt-media, download, cache) ${firstMs.toFixed(1)} ms`,
      },
    ];
  } finally {
    await instance.stop();
  }
}
