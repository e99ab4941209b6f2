/** GET /metrics, parsed with a Prometheus text-format parser, and sample look-ups by labels. */
// @ts-expect-error the parser ships no types
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

interface Sample {
  value?: string;
  labels?: Record<string, string>;
  buckets?: Record<string, string>;
  count?: string;
  sum?: string;
}
interface Family {
  name: string;
  help: string;
  type: string;
  metrics: Sample[];
}

export interface Scrape {
  families: Family[];
  /** The sum of the samples of `name` whose labels include `labels` (0 when none). */
  value(name: string, labels?: Record<string, string>): number;
  /** A histogram's observation count, summed over its series whose labels include `labels`. */
  count(name: string, labels?: Record<string, string>): number;
  type(name: string): string | undefined;
}

const matches = (sample: Sample, labels: Record<string, string>) => Object.entries(labels).every(([k, v]) => sample.labels?.[k] === v);

export function parseMetrics(text: string): Scrape {
  const families = parsePrometheusTextFormat(text) as Family[];
  // The parser folds a histogram's label sets into one; read as untyped, its _bucket, _count and
  // _sum series keep their labels.
  const series = parsePrometheusTextFormat(text.replace(/^# TYPE (\S+) histogram$/gm, '# TYPE $1 untyped')) as Family[];
  // (A histogram's series alternate, so one name may come back as several families.)
  const samples = (name: string, labels: Record<string, string>) => series.filter((f) => f.name === name).flatMap((f) => f.metrics.filter((s) => matches(s, labels)));
  const sum = (name: string, labels: Record<string, string>) => samples(name, labels).reduce((total, s) => total + Number(s.value), 0);
  return {
    families,
    value: (name, labels = {}) => sum(name, labels),
    count: (name, labels = {}) => sum(`${name}_count`, labels),
    type: (name) => families.find((f) => f.name === name)?.type,
  };
}

export async function scrape(url: string, token?: string): Promise<Scrape> {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  if (!res.headers.get('content-type')?.startsWith('text/plain')) throw new Error(`/metrics content type ${res.headers.get('content-type')}`);
  return parseMetrics(await res.text());
}
