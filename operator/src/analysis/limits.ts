// The limits' arithmetic: from a metric's counts, its phase; from the metrics' phases, the run's.
// Pure.
import type { AnalysisPhase, MeasurementPhase, Metric } from '../api/analysis.ts';

export const DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4;

export interface MetricCounts {
  count: number;
  successful: number;
  failed: number;
  inconclusive: number;
  error: number;
  consecutiveErrors: number;
}

export const NO_COUNTS: MetricCounts = {
  count: 0,
  successful: 0,
  failed: 0,
  inconclusive: 0,
  error: 0,
  consecutiveErrors: 0,
};

/** The counts after one more measurement of `phase`. */
export function countMeasurement(counts: MetricCounts, phase: MeasurementPhase): MetricCounts {
  const next = { ...counts, count: counts.count + 1 };
  if (phase === 'Successful') next.successful++;
  if (phase === 'Failed') next.failed++;
  if (phase === 'Inconclusive') next.inconclusive++;
  if (phase === 'Error') {
    next.error++;
    next.consecutiveErrors++;
  } else next.consecutiveErrors = 0;
  return next;
}

/**
 * A metric's phase: Failed past failureLimit failures, Error past consecutiveErrorLimit errors in a
 * row, Inconclusive past inconclusiveLimit inconclusive ones; otherwise Successful once `count`
 * measurements are taken (or when the run is stopped: `stopped`), Running until then.
 */
export function computeMetricPhase(metric: Metric, counts: MetricCounts, stopped = false): AnalysisPhase {
  if (counts.failed > (metric.failureLimit ?? 0)) return 'Failed';
  if (counts.consecutiveErrors > (metric.consecutiveErrorLimit ?? DEFAULT_CONSECUTIVE_ERROR_LIMIT)) return 'Error';
  if (counts.inconclusive > (metric.inconclusiveLimit ?? 0)) return 'Inconclusive';
  const done = metric.count !== undefined && counts.count >= metric.count;
  if (done || stopped) return 'Successful';
  return 'Running';
}

/**
 * The run's phase from its metrics': the worst of the decisive ones (a dry-run metric never
 * decides). A Failed or Error metric ends the run at once, without waiting for the others; an
 * Inconclusive one only when no other still runs.
 */
export function computeRunPhase(metrics: { phase: AnalysisPhase; dryRun?: boolean }[]): AnalysisPhase {
  const decisive = metrics.filter((metric) => !metric.dryRun).map((metric) => metric.phase);
  if (decisive.includes('Failed')) return 'Failed';
  if (decisive.includes('Error')) return 'Error';
  if (decisive.includes('Running') || decisive.includes('Pending')) return 'Running';
  if (decisive.includes('Inconclusive')) return 'Inconclusive';
  if (decisive.length === 0 && metrics.some((metric) => !isFinished(metric.phase))) return 'Running';
  return 'Successful';
}

/** Whether a phase is a verdict: nothing more is measured. */
export function isFinished(phase: AnalysisPhase | undefined): boolean {
  return phase !== undefined && phase !== 'Pending' && phase !== 'Running';
}
