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
    // BENCH_PROFILE=<dir>: each server writes a CPU profile there (open it in Chrome DevTools).
    execArgv: ['--import', 'tsx', '--expose-gc', '--max-old-space-size=4096', ...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [])],
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
      if (!child.connected) return;
      child.send({ type: 'stop' });
      const gone = new Promise((r) => child.once('exit', r));
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill();
    },
  };
}

/** In the server process: says it has stopped, then exits (so a CPU profile is written). */
export function reportStopped(): void {
  process.send!({ type: 'stopped' }, () => process.exit(0));
}

/** Heap after a full GC: what the code keeps, not the allocator's slack. */
export function heapAfterGc(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}
