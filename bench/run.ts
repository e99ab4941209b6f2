/**
 * `npm run bench`: every benchmark measures its baseline in the same run and checks its target as
 * a ratio to that baseline, so the verdict does not depend on how fast this machine is today.
 */
import { bulkBenchmarks } from './bulk.ts';
import { healthBenchmarks } from './health.ts';
import { ingestBenchmarks } from './ingest.ts';
import { liveBenchmarks } from './live.ts';
import { mediaBenchmarks } from './media.ts';

export interface BenchResult {
  name: string;
  unit: string;
  baseline: number;
  measured: number;
  target: { kind: 'ratio-at-least' | 'ratio-at-most'; value: number };
  /** Other figures of the same run worth reading beside it. */
  note?: string;
}

const suites: Record<string, () => Promise<BenchResult[]>> = { live: liveBenchmarks, ingest: ingestBenchmarks, media: mediaBenchmarks, bulk: bulkBenchmarks, health: healthBenchmarks };
const only = process.argv.slice(2);

const results: BenchResult[] = [];
for (const [name, run] of Object.entries(suites)) {
  if (only.length && !only.includes(name)) continue;
  console.log(`running ${name}…`);
  results.push(...(await run()));
}

let failed = 0;
const format = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(1));
for (const r of results) {
  const ratio = r.measured / r.baseline;
  const ok = r.target.kind === 'ratio-at-least' ? ratio >= r.target.value : ratio <= r.target.value;
  if (!ok) failed++;
  const sign = r.target.kind === 'ratio-at-least' ? '≥' : '≤';
  console.log(
    `${ok ? 'PASS' : 'FAIL'}  ${r.name}: ${format(r.measured)} ${r.unit} vs baseline ${format(r.baseline)} ${r.unit} = ${ratio.toFixed(2)}× (target ${sign} ${r.target.value}×)${r.note ? `; ${r.note}` : ''}`,
  );
}
process.exit(failed ? 1 : 0);
