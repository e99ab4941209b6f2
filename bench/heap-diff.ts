/**
 * `npx tsx bench/heap-diff.ts <before.heapsnapshot> <after.heapsnapshot> [count] [per]`: what the
 * heap gained between two snapshots (e.g. written under BENCH_HEAP_SNAPSHOT), by constructor: objects
 * and bytes added, largest first. `per` divides both (e.g. by the connections opened in between).
 */
import { readFile } from 'node:fs/promises';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

async function byConstructor(file: string) {
  const snap = JSON.parse(await readFile(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const groups = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + typeAt!]!]!;
    // Strings and code are grouped by their kind; objects by their constructor.
    const key = type === 'object' || type === 'closure' ? `${type}: ${snap.strings[snap.nodes[i + nameAt!]!]}` : `(${type})`;
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += snap.nodes[i + sizeAt!]!;
    groups.set(key, group);
  }
  return groups;
}

const [beforeFile, afterFile, count = '40', per = '1'] = process.argv.slice(2);
if (!beforeFile || !afterFile) throw new Error('usage: bench/heap-diff.ts <before.heapsnapshot> <after.heapsnapshot> [count] [per]');
const [before, after] = await Promise.all([byConstructor(beforeFile), byConstructor(afterFile)]);
const divisor = Number(per);
const rows = [...after].map(([key, a]) => {
  const b = before.get(key) ?? { count: 0, bytes: 0 };
  return { key, count: (a.count - b.count) / divisor, bytes: (a.bytes - b.bytes) / divisor };
});
rows.sort((x, y) => y.bytes - x.bytes);
const total = rows.reduce((sum, r) => sum + r.bytes, 0);
console.log(`total: ${total.toFixed(0)} bytes${divisor !== 1 ? ` per ${divisor === 1 ? '' : 'unit'}` : ''}`);
for (const r of rows.slice(0, Number(count))) console.log(`${r.bytes.toFixed(1).padStart(12)} B ${r.count.toFixed(2).padStart(10)} ×  ${r.key}`);
