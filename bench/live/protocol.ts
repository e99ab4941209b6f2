/** What the live benchmark and its server process say to each other over IPC. */
export { BENCH_ADMIN_TOKEN } from '../support/bench-app.ts';

export type ServerCommand = { type: 'burst'; events: number } | { type: 'memory' } | { type: 'stop' };
export type ServerReply =
  | { type: 'ready'; url: string; sessionId?: string }
  | { type: 'sent' }
  | { type: 'memory'; heapUsed: number; rss: number }
  | { type: 'stopped' };
