/**
 * A route table: method + path pattern → handler. A `:name` segment captures one decoded path
 * segment; `:name(regex)` captures only what the regex matches.
 */
import type { IncomingMessage } from 'node:http';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Work the provider does after answering (webhooks it sends once the call has returned). */
  after?: () => Promise<unknown>;
}

export interface RouteInput {
  req: IncomingMessage;
  params: Record<string, string>;
  query: URLSearchParams;
}

export interface Route<Extra = object> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  pattern: string;
  handler: (input: RouteInput & Extra) => Promise<Reply> | Reply;
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function compile(pattern: string): RegExp {
  const source = pattern
    .split('/')
    .map((segment) => {
      const param = /^:(\w+)(?:\((.+)\))?$/.exec(segment);
      return param ? `(?<${param[1]}>${param[2] ?? '[^/]+'})` : escapeRegex(segment);
    })
    .join('/');
  return new RegExp(`^${source}$`);
}

export function createRouter<Extra>(routes: Route<Extra>[]) {
  const compiled = routes.map((route) => ({ route, regex: compile(route.pattern) }));
  return {
    /** The route for this request and its decoded parameters, or null. */
    match(method: string, path: string): { route: Route<Extra>; params: Record<string, string> } | null {
      for (const { route, regex } of compiled) {
        if (route.method !== method) continue;
        const m = regex.exec(path);
        if (!m) continue;
        const params: Record<string, string> = {};
        for (const [name, value] of Object.entries(m.groups ?? {})) params[name] = decodeURIComponent(value);
        return { route, params };
      }
      return null;
    },
  };
}
