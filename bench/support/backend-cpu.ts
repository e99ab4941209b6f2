/**
 * CPU time of the PostgreSQL backends serving one database, read from /proc (PostgreSQL runs on this
 * machine): what the database itself spent on a measured run, beside the processes' own CPU. Backends
 * that exit between two readings are not counted, so read while the connections are still open.
 */
import { readFile } from 'node:fs/promises';
import pg from 'pg';

const TICKS_PER_SECOND = 100;

async function cpuMsOf(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** Milliseconds of CPU the database's backends have used so far, or null when /proc cannot tell. */
export async function databaseBackendCpuMs(url: string): Promise<number | null> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    const times = await Promise.all(rows.map((r) => cpuMsOf(r.pid)));
    return times.some((t) => t === null) ? null : times.reduce<number>((a, b) => a + b!, 0);
  } finally {
    await client.end();
  }
}
