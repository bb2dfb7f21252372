// The pure side of a release's analysis: which AnalysisRuns a Rollout wants (made, stopped, kept),
// how the strategies read them, and how the Rollout's status shows them. The writes are in
// controllers/analysis/runs.ts.
import type { AnalysisRun } from '../api/analysis.ts';
import type { RolloutStatus } from '../api/rollout.ts';
import type { KubeObject } from '../kube/objects.ts';
import type { ObservedAnalysisRun, WantedAnalysis } from '../strategy/index.ts';
import { isFinished } from './limits.ts';
import type { AnalysisContext } from './placeholders.ts';
import { ANALYSIS_KEY_LABEL } from './resources.ts';

/** Finished runs kept per Rollout beyond those the release waits on; older ones are deleted. */
export const FINISHED_RUNS_KEPT = 5;

export type Run = AnalysisRun & KubeObject;
export type AnalysisRunSummary = NonNullable<RolloutStatus['analysisRuns']>[number];

/** A wanted analysis with what its placeholders are filled with. */
export interface WantedRun extends WantedAnalysis {
  context: AnalysisContext;
}

export const runName = (rollout: KubeObject, key: string): string => `${rollout.metadata.name}-${key}`;

/**
 * What the release reads of a run, and all its cache keeps: identity, labels, `spec.terminate`, the
 * phase and message, and of each metric its verdict, condition and last value (not its history,
 * which only the analysis controller needs).
 */
export function releaseView(object: KubeObject): KubeObject {
  const run = object as Run;
  const { name, namespace, uid, resourceVersion, labels, creationTimestamp, generation } = run.metadata;
  const status = run.status;
  return {
    apiVersion: run.apiVersion,
    kind: run.kind,
    metadata: { name, namespace, uid, resourceVersion, labels, creationTimestamp, generation },
    spec: run.spec?.terminate ? { terminate: true } : {},
    ...(status
      ? {
          status: {
            ...(status.phase ? { phase: status.phase } : {}),
            ...(status.message ? { message: status.message } : {}),
            ...(status.metricResults
              ? {
                  metricResults: status.metricResults.map(({ name, phase, condition, dryRun, measurements }) => ({
                    name,
                    phase,
                    ...(condition ? { condition } : {}),
                    ...(dryRun ? { dryRun } : {}),
                    measurements: (measurements ?? []).slice(-1),
                  })),
                }
              : {}),
          },
        }
      : {}),
  } as KubeObject;
}

/** The runs of a Rollout by their analysisKey, as the strategies read them. */
export function observeRuns(runs: readonly KubeObject[]): Map<string, ObservedAnalysisRun> {
  const byKey = new Map<string, ObservedAnalysisRun>();
  for (const run of runs as Run[]) {
    const key = run.metadata.labels?.[ANALYSIS_KEY_LABEL];
    if (!key) continue;
    byKey.set(key, {
      name: run.metadata.name ?? '',
      phase: run.status?.phase ?? 'Pending',
      ...(run.status?.message ? { message: run.status.message } : {}),
    });
  }
  return byKey;
}

/** One run for the Rollout's status: phase, message, each metric's last value and condition. */
function summarizeRun(name: string, gate: AnalysisRunSummary['gate'], run: Run | undefined): AnalysisRunSummary {
  const status = run?.status;
  return {
    name,
    gate,
    phase: status?.phase ?? 'Pending',
    ...(status?.message ? { message: status.message } : {}),
    ...(status?.metricResults
      ? {
          metrics: status.metricResults.map((result) => {
            const last = result.measurements.at(-1)?.value;
            return {
              name: result.name,
              phase: result.phase,
              ...(last !== undefined ? { lastValue: last } : {}),
              ...(result.condition ? { condition: result.condition } : {}),
              ...(result.dryRun ? { dryRun: true } : {}),
            };
          }),
        }
      : {}),
  };
}

const runNamed = (runs: readonly KubeObject[], name: string): Run | undefined =>
  (runs as Run[]).find((candidate) => candidate.metadata.name === name);

/** The runs the release waits on, for the Rollout's status. */
export function summarizeRuns(
  rollout: KubeObject,
  wanted: readonly WantedAnalysis[],
  runs: readonly KubeObject[],
): AnalysisRunSummary[] {
  return wanted.map((analysis) => {
    const name = runName(rollout, analysis.key);
    return summarizeRun(name, analysis.gate, runNamed(runs, name));
  });
}

/** Runs shown before, as they are now (one deleted meanwhile is no longer shown). */
export function refreshRuns(shown: readonly AnalysisRunSummary[], runs: readonly KubeObject[]): AnalysisRunSummary[] {
  return shown.flatMap((summary) => {
    const run = runNamed(runs, summary.name);
    return run ? [summarizeRun(summary.name, summary.gate, run)] : [];
  });
}

/** What to do with a Rollout's runs: make the missing wanted ones, stop the unwanted running ones, delete old ones. */
export function planRuns(
  rollout: KubeObject,
  wanted: readonly WantedAnalysis[],
  runs: readonly KubeObject[],
): { create: WantedAnalysis[]; terminate: string[]; remove: string[] } {
  const wantedNames = new Set(wanted.map((analysis) => runName(rollout, analysis.key)));
  const existing = new Set(runs.map((run) => run.metadata.name));
  const create = wanted.filter((analysis) => !existing.has(runName(rollout, analysis.key)));
  const others = (runs as Run[]).filter((run) => !wantedNames.has(run.metadata.name ?? ''));
  const terminate = others
    .filter((run) => !isFinished(run.status?.phase) && !run.spec.terminate)
    .map((run) => run.metadata.name ?? '');
  const finished = others
    .filter((run) => isFinished(run.status?.phase))
    .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''));
  const remove = finished.slice(FINISHED_RUNS_KEPT).map((run) => run.metadata.name ?? '');
  return { create, terminate, remove };
}
