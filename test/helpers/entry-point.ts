/** The real entry point (src/index.ts) in a child process, as `npm start` runs it. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from './app.ts';
import { freePort } from './private-redis.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface EntryPoint {
  child: ChildProcess;
  url: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts it with exactly `env` (plus PATH and HOME) on a free port, and waits until it is ready. */
export async function startEntryPoint(env: Record<string, string>): Promise<EntryPoint> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = `http://127.0.0.1:${port}`;
  let gone = false;
  void exited.then(() => (gone = true));
  try {
    await eventually(async () => {
      if (gone) throw new Error(`the entry point exited early:\n${out}\n${err}`);
      return (await fetch(`${url}/readyz`)).status === 200;
    }, 60_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { child, url, stdout: () => out, stderr: () => err, exited };
}
