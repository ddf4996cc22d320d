// Summaries of measured values: nearest-rank percentiles, as the tests print them.

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  max: number;
  min: number;
}

/** The p-th percentile (nearest rank) of `values`; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    max: values.length === 0 ? NaN : Math.max(...values),
    min: values.length === 0 ? NaN : Math.min(...values),
  };
}

/** The median of a few timings (a warm process's repeated runs). */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** The index of the value closest to the median: the trial a timeline shows. */
export function medianIndex(values: readonly number[]): number {
  const m = percentile(values, 50);
  let best = -1;
  values.forEach((v, i) => {
    if (best === -1 || Math.abs(v - m) < Math.abs((values[best] ?? v) - m)) best = i;
  });
  return best;
}
