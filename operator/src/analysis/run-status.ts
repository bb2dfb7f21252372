// An AnalysisRun's status, step by step: started, one measurement recorded, stopped. Pure: the
// controller measures, these functions say what the status becomes. Each metric keeps its counts
// and only its last MAX_MEASUREMENTS measurements, so a long background analysis stays small.
import type {
  AnalysisPhase,
  AnalysisRunSpec,
  AnalysisRunStatus,
  Measurement,
  Metric,
  MetricResult,
} from '../api/analysis.ts';
import { describeCondition } from './evaluate.ts';
import {
  computeMetricPhase,
  computeRunPhase,
  countMeasurement,
  isFinished,
  type MetricCounts,
  NO_COUNTS,
} from './limits.ts';
import { describeTarget } from './placeholders.ts';

export const MAX_MEASUREMENTS = 10;

function emptyResult(metric: Metric): MetricResult {
  return {
    name: metric.name,
    phase: 'Running',
    ...(metric.dryRun ? { dryRun: true } : {}),
    ...NO_COUNTS,
    condition: describeCondition(metric),
    query: describeTarget(metric),
    measurements: [],
  };
}

/** The status of a run that starts measuring at `now`. */
export function startRun(spec: AnalysisRunSpec, now: string): AnalysisRunStatus {
  return summarize(spec, { phase: 'Running', startedAt: now, metricResults: spec.metrics.map(emptyResult) }, now);
}

/** The result of each metric of the spec, in the spec's order (a fresh one where none is recorded). */
export function resultsOf(spec: AnalysisRunSpec, status: AnalysisRunStatus): MetricResult[] {
  return spec.metrics.map(
    (metric) => status.metricResults?.find((result) => result.name === metric.name) ?? emptyResult(metric),
  );
}

/** The status after `measurement` of the metric at `index`. */
export function recordMeasurement(
  spec: AnalysisRunSpec,
  status: AnalysisRunStatus,
  index: number,
  measurement: Measurement,
  now: string,
): AnalysisRunStatus {
  const metric = spec.metrics[index] as Metric;
  const results = resultsOf(spec, status);
  const previous = results[index] as MetricResult;
  const counts = countMeasurement(countsOf(previous), measurement.phase);
  results[index] = {
    ...previous,
    ...counts,
    phase: computeMetricPhase(metric, counts),
    ...(measurement.message !== undefined ? { message: measurement.message } : {}),
    measurements: [...previous.measurements, measurement].slice(-MAX_MEASUREMENTS),
  };
  return summarize(spec, { ...status, metricResults: results }, now);
}

/** The status of a run the release no longer needs: each metric's verdict as it stands. */
export function stopRun(spec: AnalysisRunSpec, status: AnalysisRunStatus, now: string): AnalysisRunStatus {
  const results = resultsOf(spec, status).map((result, index) => ({
    ...result,
    phase: computeMetricPhase(spec.metrics[index] as Metric, countsOf(result), true),
  }));
  return summarize(spec, { ...status, metricResults: results }, now, 'stopped by the release');
}

function countsOf(result: MetricResult): MetricCounts {
  const { count, successful, failed, inconclusive, error, consecutiveErrors } = result;
  return { count, successful, failed, inconclusive, error, consecutiveErrors };
}

/** The run's phase, message and counts from its metrics'; finishedAt once decided. */
function summarize(spec: AnalysisRunSpec, status: AnalysisRunStatus, now: string, why?: string): AnalysisRunStatus {
  const results = status.metricResults ?? [];
  const phase = computeRunPhase(results);
  const finished = isFinished(phase);
  // A decided run stops every metric still measuring: it keeps the verdict it had.
  const metricResults = finished
    ? results.map((result) => (isFinished(result.phase) ? result : { ...result, phase: 'Successful' as const }))
    : results;
  const next: AnalysisRunStatus = {
    ...status,
    phase,
    message: describeRun(phase, metricResults, why),
    metricResults,
    metricsPassed: metricResults.filter((result) => result.phase === 'Successful').length,
    metricsFailed: metricResults.filter((result) => result.phase === 'Failed' || result.phase === 'Error').length,
  };
  if (finished && !status.finishedAt) next.finishedAt = now;
  if (spec.metrics.length === 0) next.message = 'no metrics to measure';
  return next;
}

const DECIDING: AnalysisPhase[] = ['Failed', 'Error', 'Inconclusive'];

/**
 * In words: for a verdict other than Successful, the deciding metric with its last value and
 * condition ("metric error-rate Failed: 0.12 does not meet successCondition result < 0.05 (2 of 3
 * measurements failed; failureLimit 1)"); otherwise how many metrics passed.
 */
function describeRun(phase: AnalysisPhase, results: MetricResult[], why?: string): string {
  const deciding = results.find((result) => !result.dryRun && result.phase === phase && DECIDING.includes(phase));
  if (deciding) {
    const last = deciding.measurements.at(-1);
    return `metric ${deciding.name} ${phase}: ${last?.message ?? deciding.message ?? ''} (${deciding.count} measured: ${deciding.successful} successful, ${deciding.failed} failed, ${deciding.inconclusive} inconclusive, ${deciding.error} errors)`;
  }
  const dryFailed = results.filter(
    (result) => result.dryRun && (result.phase === 'Failed' || result.phase === 'Error'),
  );
  const dry =
    dryFailed.length > 0 ? `; dry-run ${dryFailed.map((result) => result.name).join(', ')} failed (not decisive)` : '';
  const passed = results.filter((result) => result.phase === 'Successful').length;
  if (phase === 'Successful') return `${passed} of ${results.length} metrics passed${why ? `, ${why}` : ''}${dry}`;
  const measured = results.reduce((sum, result) => sum + result.count, 0);
  return `measuring ${results.length} metrics, ${measured} measurements so far${dry}`;
}
