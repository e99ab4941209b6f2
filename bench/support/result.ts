/** What a benchmark reports, and the one way a failing part of it is reported instead of aborting. */

export interface BenchTarget {
  kind: 'ratio-at-least' | 'ratio-at-most';
  value: number;
}

export interface BenchResult {
  name: string;
  unit: string;
  /** null: the baseline failed (see `error`). */
  baseline: number | null;
  /** null: the product's run failed (see `error`). */
  measured: number | null;
  /** Figures without a target are reported beside the others and never fail the run. */
  target?: BenchTarget;
  /** Other figures of the same run worth reading beside it. */
  note?: string;
  /** Why `baseline` or `measured` is missing. */
  error?: string;
  /** Every other figure of the run, for bench/results/latest.json. */
  figures?: Record<string, number | string | null>;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Runs one measurement; a failure (a reference server closing a client, a database that is not
 * there) becomes a reported error, never the end of the run.
 */
export async function attempt<T>(label: string, fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.log(`  ${label} failed: ${message}`);
    return { ok: false, error: `${label}: ${message}` };
  }
}

export const valueOf = <T>(o: Outcome<T>): T | null => (o.ok ? o.value : null);
export const errorOf = (...outcomes: Outcome<unknown>[]): string | undefined => {
  const errors = outcomes.flatMap((o) => (o.ok ? [] : [o.error]));
  return errors.length ? errors.join('; ') : undefined;
};

/** The result of a product figure against its baseline, whichever of the two failed. */
export function compared(
  base: Omit<BenchResult, 'baseline' | 'measured' | 'error'>,
  baseline: Outcome<number>,
  measured: Outcome<number>,
): BenchResult {
  return { ...base, baseline: valueOf(baseline), measured: valueOf(measured), error: errorOf(baseline, measured) };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
