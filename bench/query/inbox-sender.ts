/** The probes' request: the inbox query (or PROBE_QUERY) to an in-process app, its answer checked. */
import { INBOX_QUERY } from '../query.ts';

type InProcessApp = { yoga: { fetch: (url: string, init: RequestInit) => Response | Promise<Response> }; url: string };

/** Sends the query with the admin token; resolves to the response text, throws on any error. */
export function inboxQuerySender(running: InProcessApp, adminToken: string): () => Promise<string> {
  const body = JSON.stringify({ query: process.env.PROBE_QUERY ?? INBOX_QUERY });
  return async () => {
    const res = await running.yoga.fetch(`${running.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` }, body });
    const text = await res.text();
    if (res.status !== 200 || text.includes('"errors"')) throw new Error(text.slice(0, 500));
    return text;
  };
}
