// The analysis controller: the only writer of AnalysisRun status. Each run is a key of its own
// work queue (its own workers, so a slow query never holds a MicroService reconcile). A reconcile
// takes the measurements due by the times in the status (a restarted or new leader resumes the
// schedule: a measurement recorded is never taken again, one missed is taken at once), writes the
// status once, and asks to come back when the next one is due.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { evaluateMeasurement, formatValue } from '../../analysis/evaluate.ts';
import { isFinished } from '../../analysis/limits.ts';
import { fillPlaceholders, mapMetricStrings } from '../../analysis/placeholders.ts';
import type { MetricProvider } from '../../analysis/providers/provider.ts';
import { ProviderError } from '../../analysis/providers/provider.ts';
import { PROVIDERS, providerFor } from '../../analysis/providers/registry.ts';
import { analysisRunType, ROLLOUT_LABEL } from '../../analysis/resources.ts';
import { recordMeasurement, resultsOf, startRun, stopRun } from '../../analysis/run-status.ts';
import { computeDue } from '../../analysis/schedule.ts';
import type { AnalysisRun, AnalysisRunStatus, Measurement, Metric } from '../../api/analysis.ts';
import { type Clock, systemClock } from '../../common/clock.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { KubeObject } from '../../kube/objects.ts';
import { syncStatus } from '../../kube/status.ts';
import { Controller, type ControllerOptions } from '../../runtime/controller.ts';
import type { RuntimeMetrics } from '../../runtime/metrics.ts';
import { credentialsOf, SecretReadError, secretArgValues, secretReader } from './credentials.ts';
import { type AnalysisMetrics, createAnalysisMetrics } from './metrics.ts';

export interface AnalysisControllerOptions {
  client: KubeClient;
  logger: Logger;
  metrics?: RuntimeMetrics;
  namespace?: string;
  /** Runs measured at the same time (default 32: measuring waits on providers; 8 made measurements late). */
  concurrency?: number;
  clock?: Clock;
  providers?: readonly MetricProvider[];
  reflector?: ControllerOptions['reflector'];
}

type Run = AnalysisRun & KubeObject;

const iso = (ms: number) => new Date(ms).toISOString();

export function createAnalysisController(options: AnalysisControllerOptions): Controller {
  const { client, logger } = options;
  const clock = options.clock ?? systemClock;
  const providers = options.providers ?? PROVIDERS;
  const exported: AnalysisMetrics = createAnalysisMetrics(options.metrics?.registry as Registry | undefined);

  /**
   * One measurement of `metric`, with its first sample for the exported gauge: never throws; a
   * failure is an Error measurement.
   */
  async function measure(
    run: Run,
    metric: Metric,
    log: Logger,
  ): Promise<{ measurement: Measurement; sample?: number }> {
    const startedAt = iso(clock.now());
    const namespace = run.metadata.namespace ?? '';
    try {
      const read = secretReader(client, namespace);
      const secrets = await secretArgValues(run.spec.args ?? [], read);
      const filled = secrets.size > 0 ? mapMetricStrings(metric, (text) => fillPlaceholders(text, secrets)) : metric;
      const credentials = await credentialsOf(metric, read);
      const value = await providerFor(filled, providers).measure(filled, credentials);
      const verdict = evaluateMeasurement(metric, value);
      // The query as stored (secret arguments still placeholders), never the filled one.
      log.debug(
        { metric: metric.name, query: describeQuery(metric), value: formatValue(value), phase: verdict.phase },
        'measured',
      );
      const measurement: Measurement = {
        startedAt,
        finishedAt: iso(clock.now()),
        phase: verdict.phase,
        value: formatValue(value).slice(0, 1024),
        message: verdict.message.slice(0, 1024),
      };
      const sample = Array.isArray(value) ? value[0] : value;
      return sample === undefined ? { measurement } : { measurement, sample };
    } catch (error) {
      if (!(error instanceof ProviderError || error instanceof SecretReadError)) {
        log.warn({ err: error, metric: metric.name }, 'measurement failed unexpectedly');
      }
      const message = error instanceof Error ? error.message : String(error);
      log.debug({ metric: metric.name, query: describeQuery(metric), error: message }, 'measurement error');
      return {
        measurement: { startedAt, finishedAt: iso(clock.now()), phase: 'Error', message: message.slice(0, 1024) },
      };
    }
  }

  const controller: Controller = new Controller({
    client,
    primary: analysisRunType,
    logger,
    clock,
    concurrency: options.concurrency ?? 32,
    ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.reflector ? { reflector: options.reflector } : {}),
    reconcile: async (key, { log }) => {
      const run = controller.cache<Run>(analysisRunType).get(key);
      if (!run || run.metadata.deletionTimestamp) return undefined;
      const previous = (run.status ?? {}) as AnalysisRunStatus;
      if (isFinished(previous.phase)) return undefined;
      const spec = run.spec;
      const now = iso(clock.now());
      let status: AnalysisRunStatus = previous.startedAt ? previous : startRun(spec, now);
      if (spec.invalid) {
        status = { ...status, phase: 'Error', message: spec.invalid, finishedAt: now };
      } else if (spec.terminate) {
        status = stopRun(spec, status, now);
      } else {
        const { due } = computeDue(scheduleOf(run, status), status.startedAt ?? now, clock.now());
        const measured = await Promise.all(due.map((index) => measure(run, spec.metrics[index] as Metric, log)));
        const labels = { namespace: run.metadata.namespace ?? '', rollout: run.metadata.labels?.[ROLLOUT_LABEL] ?? '' };
        due.forEach((index, at) => {
          const { measurement, sample } = measured[at] as { measurement: Measurement; sample?: number };
          status = recordMeasurement(spec, status, index, measurement, iso(clock.now()));
          exported.observe({ ...labels, metric: spec.metrics[index]?.name ?? '' }, measurement.phase, sample);
        });
      }
      const generation = run.metadata.generation;
      if (generation !== undefined) status.observedGeneration = generation;
      const written = await syncStatus(client, analysisRunType, run, status);
      if (written && status.phase !== previous.phase) {
        (status.phase === 'Failed' || status.phase === 'Error' ? log.warn : log.info).call(
          log,
          { run: run.metadata.name, phase: status.phase },
          status.message ?? '',
        );
      }
      if (isFinished(status.phase)) return undefined;
      return nextVisit(run, status, clock.now());
    },
  });
  return controller;
}

/** Each metric with what the status says of its progress, for the schedule. */
function scheduleOf(run: Run, status: AnalysisRunStatus) {
  const results = resultsOf(run.spec, status);
  return run.spec.metrics.map((metric, index) => {
    const result = results[index];
    const last = result?.measurements.at(-1);
    return {
      metric,
      progress: { count: result?.count ?? 0, ...(last ? { lastStartedAt: last.startedAt } : {}) },
      finished: isFinished(result?.phase),
    };
  });
}

/** When the next measurement of `status` is due, as a requeue. */
function nextVisit(run: Run, status: AnalysisRunStatus, now: number): { requeueAfterMs: number } | undefined {
  const { due, nextInMs } = computeDue(scheduleOf(run, status), status.startedAt ?? iso(now), now);
  if (due.length > 0) return { requeueAfterMs: 0 };
  return nextInMs === undefined ? undefined : { requeueAfterMs: nextInMs };
}

function describeQuery(metric: Metric): string {
  return metric.provider.prometheus?.query ?? metric.provider.web?.url ?? '';
}
