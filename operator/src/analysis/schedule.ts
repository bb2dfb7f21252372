// When a metric is measured next, from the times in the run's status alone (the clock is passed
// in), so that an operator restarted or replaced mid-analysis takes the next measurement when it
// is due: none lost (a due one is taken at once) and none twice (a measurement in the status is
// never due again). Pure.
import type { Metric } from '../api/analysis.ts';
import { parseDuration } from '../desired/duration.ts';

export const DEFAULT_INTERVAL = '1m';

export interface MetricProgress {
  /** Measurements taken so far. */
  count: number;
  /** When the last one was taken (its startedAt), if any. */
  lastStartedAt?: string;
}

/**
 * Milliseconds since the epoch at which `metric` is next measured, or undefined when it needs no
 * more (count reached). The first measurement is due initialDelay after the run started; each
 * next one an interval after the previous one began.
 */
export function computeNextMeasurement(
  metric: Metric,
  runStartedAt: string,
  progress: MetricProgress,
): number | undefined {
  if (metric.count !== undefined && progress.count >= metric.count) return undefined;
  if (progress.lastStartedAt === undefined || progress.count === 0) {
    return Date.parse(runStartedAt) + (metric.initialDelay ? parseDuration(metric.initialDelay) : 0);
  }
  return Date.parse(progress.lastStartedAt) + parseDuration(metric.interval ?? DEFAULT_INTERVAL);
}

/** The metrics due at `now`, and how long until the next one otherwise. */
export function computeDue(
  metrics: readonly { metric: Metric; progress: MetricProgress; finished: boolean }[],
  runStartedAt: string,
  now: number,
): { due: number[]; nextInMs?: number } {
  const due: number[] = [];
  let next: number | undefined;
  metrics.forEach(({ metric, progress, finished }, index) => {
    if (finished) return;
    const at = computeNextMeasurement(metric, runStartedAt, progress);
    if (at === undefined) return;
    if (at <= now) due.push(index);
    else next = next === undefined ? at - now : Math.min(next, at - now);
  });
  return next === undefined ? { due } : { due, nextInMs: next };
}
