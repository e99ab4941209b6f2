/**
 * `npm run bench [-- suite …]`: every benchmark measures its baseline in the same run and checks its
 * target as a ratio to that baseline, so the verdict does not depend on how fast this machine is
 * today. A part that fails is reported as failed beside the others; the run always completes, prints
 * every figure and writes them all to bench/results/latest.json.
 *
 * A suite is one function returning its results; register it below with one line.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { bulkBenchmarks } from './bulk.ts';
import { healthBenchmarks } from './health.ts';
import { ingestBenchmarks } from './ingest.ts';
import { latencyBenchmarks } from './latency.ts';
import { liveBenchmarks } from './live.ts';
import { mediaBenchmarks } from './media.ts';
import { queryBenchmarks } from './query.ts';
import { scaleBenchmarks } from './scale.ts';
import { machineDescription } from './support/machine.ts';
import type { BenchResult } from './support/result.ts';

export type { BenchResult } from './support/result.ts';

const suites: Record<string, () => Promise<BenchResult[]>> = {
  live: liveBenchmarks,
  latency: latencyBenchmarks,
  ingest: ingestBenchmarks,
  query: queryBenchmarks,
  scale: scaleBenchmarks,
  media: mediaBenchmarks,
  bulk: bulkBenchmarks,
  health: healthBenchmarks,
};

const only = process.argv.slice(2).filter((a) => a !== '--');
const unknown = only.filter((name) => !(name in suites));
if (unknown.length) {
  console.error(`unknown suite ${unknown.join(', ')}; the suites are ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}

type Verdict = 'pass' | 'fail' | 'failed' | 'info';
interface Reported extends BenchResult {
  suite: string;
  ratio: number | null;
  verdict: Verdict;
  seconds?: number;
}

const startedAt = new Date();
const loadAtStart = os.loadavg();
const reported: Reported[] = [];
for (const [suite, run] of Object.entries(suites)) {
  if (only.length && !only.includes(suite)) continue;
  console.log(`running ${suite}…`);
  const began = performance.now();
  let results: BenchResult[];
  try {
    results = await run();
  } catch (error) {
    // A suite's own set-up failed: say so as one result and go on with the next suite.
    results = [{ name: suite, unit: '', baseline: null, measured: null, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }];
  }
  const seconds = Math.round((performance.now() - began) / 100) / 10;
  console.log(`  ${suite} took ${seconds} s`);
  for (const r of results) reported.push({ ...r, suite, ...judge(r) });
}

function judge(r: BenchResult): { ratio: number | null; verdict: Verdict } {
  const ratio = r.measured !== null && r.baseline !== null && r.baseline > 0 ? r.measured / r.baseline : null;
  if (!r.target) return { ratio, verdict: r.error ? 'failed' : 'info' };
  if (ratio === null) return { ratio, verdict: 'failed' };
  return { ratio, verdict: (r.target.kind === 'ratio-at-least' ? ratio >= r.target.value : ratio <= r.target.value) ? 'pass' : 'fail' };
}

const format = (n: number | null) => (n === null ? '—' : Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(1));
console.log('');
for (const r of reported) {
  const sign = r.target?.kind === 'ratio-at-most' ? '≤' : '≥';
  const label = { pass: 'PASS', fail: 'FAIL', failed: 'FAILED', info: 'INFO' }[r.verdict];
  const ratio = r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`;
  const target = r.target ? ` (target ${sign} ${r.target.value}×)` : '';
  console.log(
    `${label.padEnd(6)} ${r.suite}: ${r.name}: ${format(r.measured)} ${r.unit} vs baseline ${format(r.baseline)} ${r.unit} = ${ratio}${target}` +
      `${r.note ? `; ${r.note}` : ''}${r.error ? `\n         error: ${r.error.split('\n')[0]}` : ''}`,
  );
}

const machine = await machineDescription(loadAtStart);
const finishedAt = new Date();
const file = new URL('./results/latest.json', import.meta.url);
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(
  file,
  JSON.stringify(
    {
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      seconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000),
      suites: only.length ? only : Object.keys(suites),
      machine,
      results: reported,
    },
    (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? null : value),
    2,
  ) + '\n',
);
console.log(`\nall figures: ${file.pathname} (${Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000)} s; load average ${machine.loadAverage.start.join(' ')} at start, ${machine.loadAverage.end.join(' ')} at the end)`);
process.exit(reported.some((r) => r.verdict === 'fail' || (r.verdict === 'failed' && r.target)) ? 1 : 0);
