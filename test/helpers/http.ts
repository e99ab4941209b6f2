/** Plain HTTP requests with headers fetch will not send (Host), for the console's serving rules. */
import { request } from 'node:http';

/** A GET with exactly these headers (fetch would not send a Host of our choosing). */
export function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** What the console's development-token endpoint answers these headers. */
export const devToken = async (url: string, headers: Record<string, string> = {}) => JSON.parse((await get(`${url}/console/dev-token`, headers)).body.toString()).token as string | null;
