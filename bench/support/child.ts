/** A benchmark server in its own process, driven over IPC, so it is measured apart from its load. */
import { fork, type ChildProcess } from 'node:child_process';

export interface ChildServer<Command extends { type: string }, Reply extends { type: string }> {
  request<T extends Reply['type']>(command: Command, answer: T): Promise<Extract<Reply, { type: T }>>;
  receive<T extends Reply['type']>(answer: T): Promise<Extract<Reply, { type: T }>>;
  /** Sends `stop`, waits for `stopped` (at most 5 s), then kills the process. */
  stop(): Promise<void>;
}

export function startChild<Command extends { type: string }, Reply extends { type: string }>(
  script: URL,
  args: string[],
  env: Record<string, string> = {},
): ChildServer<Command, Reply> {
  const child: ChildProcess = fork(script.pathname, args, {
    execArgv: ['--import', 'tsx', '--expose-gc', '--max-old-space-size=4096'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  const replies: Reply[] = [];
  let wake: (() => void) | null = null;
  child.on('message', (m: Reply) => {
    replies.push(m);
    wake?.();
  });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${script.pathname} ${args.join(' ')} exited with ${code}`))));
  exited.catch(() => {});
  async function receive<T extends Reply['type']>(type: T): Promise<Extract<Reply, { type: T }>> {
    for (;;) {
      const index = replies.findIndex((r) => r.type === type);
      if (index >= 0) return replies.splice(index, 1)[0] as Extract<Reply, { type: T }>;
      await Promise.race([new Promise<void>((r) => (wake = r)), exited]);
    }
  }
  return {
    receive,
    request(command, answer) {
      child.send(command);
      return receive(answer);
    },
    async stop() {
      child.send({ type: 'stop' });
      await Promise.race([receive('stopped' as Reply['type']).catch(() => {}), new Promise((r) => setTimeout(r, 5_000))]);
      child.kill();
    },
  };
}

/** Heap after a full GC: what the code keeps, not the allocator's slack. */
export function heapAfterGc(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}
