import { healthBenchmarks } from './health.ts';
const r = await healthBenchmarks();
for (const x of r) console.log(x.name, 'baseline', x.baseline.toFixed(1), 'measured', x.measured.toFixed(1), 'ratio', (x.measured / x.baseline).toFixed(2), x.note);
process.exit(0);
