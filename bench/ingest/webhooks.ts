/** The ingest benchmark's webhooks and how they are sent (shared by the suite and its probe). */
import http from 'node:http';

/** A real-shaped `messages.upsert` from one of 100 WhatsApp users. */
export function upsert(i: number) {
  const phone = `2557110${String(10_000 + (i % 100)).slice(-5)}`;
  return {
    event: 'messages.upsert',
    timestamp: Date.now(),
    data: {
      messages: {
        key: { id: `3EB0${String(i).padStart(16, '0')}`, fromMe: false, remoteJid: `${phone}@s.whatsapp.net`, cleanedSenderPn: phone },
        messageTimestamp: Math.floor(Date.now() / 1000),
        pushName: `Customer ${i % 100}`,
        message: { conversation: `Order ${i}: two loaves and a litre of milk, please` },
      },
    },
  };
}

/** node:http with keep-alive: fetch() tops out near 3k requests/s here, below what is measured. */
export function post(agent: http.Agent, url: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent, method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      // A kept-alive connection the server closed as it was reused: nothing was received, send again.
      if (req.reusedSocket && error.code === 'ECONNRESET') post(agent, url, headers, body).then(resolve, reject);
      else reject(error);
    });
    req.end(body);
  });
}
