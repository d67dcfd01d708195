/** Percentile of a sample (nearest rank); the sample need not be sorted. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export interface Spread {
  min: number;
  median: number;
  max: number;
}

/** min / median / max of repeated runs: every headline figure is reported this way. */
export function spread(values: number[]): Spread {
  return { min: Math.min(...values), median: percentile(values, 0.5), max: Math.max(...values) };
}

export function formatSpread(s: Spread, digits = 1): string {
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})`;
}
