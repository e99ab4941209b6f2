/** What the query benchmark and its server process say to each other over IPC. */
export type QueryCommand = { type: 'stop' };
export type QueryReply = { type: 'ready'; url: string; rows?: { sessions: number; chats: number; messages: number } } | { type: 'stopped' };
