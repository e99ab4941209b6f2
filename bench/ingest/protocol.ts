/** What the ingest benchmark and its server process say to each other over IPC. */
export type IngestCommand = { type: 'count' } | { type: 'cpu' } | { type: 'stop' };
export type IngestReply =
  | { type: 'ready'; url: string; apiKey: string; webhookSecret: string; sessionId: string }
  | { type: 'count'; messages: number }
  /** The server process's CPU so far (user + system), in ms. */
  | { type: 'cpu'; ms: number }
  | { type: 'stopped' };
