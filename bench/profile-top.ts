/**
 * `npx tsx bench/profile-top.ts <file.cpuprofile> [count]`: the frames with the most self time in a
 * CPU profile written under BENCH_PROFILE, and the packages they belong to.
 */
import { readFile } from 'node:fs/promises';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, count = '30'] = process.argv.slice(2);
if (!file) throw new Error('usage: bench/profile-top.ts <file.cpuprofile> [count]');
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);

const where = (url: string) => {
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const src = url.search(/\/(src|bench)\//);
  return src >= 0 ? url.slice(src + 1) : url.replace(/^file:\/\//, '');
};
const packageOf = (url: string) => {
  if (!url) return '(native)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  return url.startsWith('node:') ? 'node' : /\/src\//.test(url) ? 'our src' : url.startsWith('file:') ? 'other' : url;
};

const frames = new Map<string, number>();
const packages = new Map<string, number>();
for (const [id, time] of self) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const key = `${functionName || '(anonymous)'}  ${where(url)}:${lineNumber + 1}`;
  frames.set(key, (frames.get(key) ?? 0) + time);
  packages.set(packageOf(url), (packages.get(packageOf(url)) ?? 0) + time);
}
const pct = (t: number) => `${((100 * t) / total).toFixed(1).padStart(5)} %`;
console.log(`${(total / 1e6).toFixed(1)} s sampled\n\nby package:`);
for (const [name, t] of [...packages].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${pct(t)}  ${name}`);
console.log('\nframes by self time:');
for (const [name, t] of [...frames].sort((a, b) => b[1] - a[1]).slice(0, Number(count))) console.log(`${pct(t)}  ${name}`);
