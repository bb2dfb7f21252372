// Pure helpers of the benchmark: percentiles, and how a figure reads beside its goal.

/** The nearest-rank percentile `p` (0-100) of `values`; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** `met` or `NOT met`, with the figure and the goal, e.g. `1.12× ≤ 1.3×: met`. */
export function verdict(figure: number, limit: number, format: (n: number) => string): string {
  return `${format(figure)} ≤ ${format(limit)}: ${figure <= limit ? 'met' : 'NOT met'}`;
}

/** A number with thousands separators and `digits` decimals: 12,345.6 */
export function formatNumber(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
