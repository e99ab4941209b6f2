/** What the latency benchmark says to its server and client processes over IPC. */
import type { BenchProvider } from '../support/bench-provider.ts';
export { BENCH_ADMIN_TOKEN } from '../support/bench-app.ts';

/**
 * `bare`: a plain `ws` server broadcasting what is POSTed to /send. `app`: the product with one
 * connected session (a `replica` is a second process of the same deployment, with no session of its own).
 */
export interface ServerOptions {
  mode: 'bare' | 'app' | 'replica';
  databaseUrl?: string;
  redisUrl?: string;
  /** The deployment's shared settings (a replica takes the first process's key). */
  env?: Record<string, string>;
  /** The provider sandbox the deployment calls (a replica takes the first process's); the app starts one in a process of its own when unset. */
  provider?: BenchProvider;
}

export type ServerCommand = { type: 'memory' } | { type: 'trace' } | { type: 'listening' } | { type: 'stop' };
export type ServerReply =
  | { type: 'ready'; url: string; sessionId?: string; providerSessionId?: string; provider?: BenchProvider }
  | { type: 'memory'; heapUsed: number; rss: number }
  /** Milliseconds from each message's arrival to its publication (the ingest and apply half of the path). */
  | { type: 'trace'; published: number[] }
  /** Subscribers whose subscription is listening to events (bare: sockets connected). */
  | { type: 'listening'; subscribers: number }
  | { type: 'stopped' };

export type ClientCommand =
  | { type: 'connect'; url: string; count: number; sessionId?: string }
  | { type: 'reset' }
  | { type: 'count' }
  | { type: 'report' }
  /** Closes every socket; the process stays for the next server. */
  | { type: 'disconnect' }
  | { type: 'stop' };
export type ClientReply =
  | { type: 'connected' }
  | { type: 'reset' }
  | { type: 'count'; frames: number; open: number }
  | { type: 'report'; latencies: number[]; frames: number; open: number; closes: Record<string, number> }
  | { type: 'disconnected' }
  | { type: 'stopped' };

/** The subscription every client holds: what an agent's inbox listens to. */
export const SUBSCRIPTION = `subscription($sessionId: ID) { messageReceived(sessionId: $sessionId) { id kind text senderPhone timestamp } }`;

/** Wall-clock milliseconds with sub-millisecond steps, comparable across the processes of one machine. */
export const now = () => performance.timeOrigin + performance.now();

/** A message's text carries the moment it arrived: `<ms>|<n>|…`. */
export const textFor = (sentAt: number, n: number) => `${sentAt.toFixed(3)}|${n}|Order ${n}: two loaves and a litre of milk, please`;
